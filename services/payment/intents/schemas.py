from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class PaymentIntentRequest(BaseModel):
    """What booking asks for while the traveler waits: an intent to pay for a booking."""

    model_config = ConfigDict(extra="forbid")

    booking_id: UUID
    provider_id: UUID
    purpose: Literal["full", "deposit", "balance"] = "full"
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class PaymentIntentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    booking_id: UUID
    purpose: str
    payment_intent_id: str
    client_secret: str
    amount: Decimal
    currency: str
    status: str
