from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class SaveMethodRequest(BaseModel):
    """A payment method the client made with Stripe.js (or a Stripe test one, `pm_card_visa`)."""

    model_config = ConfigDict(extra="forbid")

    payment_method: str = Field(pattern=r"^pm_[A-Za-z0-9_]{1,96}$")
    # The first card saved is the default whatever this says.
    make_default: bool = True


class SavedMethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime


class SavedMethodPage(BaseModel):
    items: list[SavedMethodOut]
    next_cursor: str | None = None
