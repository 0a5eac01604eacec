from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PARTY = 50


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_id: UUID
    adults: int = Field(default=1, ge=0, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)

    @model_validator(mode="after")
    def _someone_comes(self) -> "HoldCreate":
        if self.adults + self.children + self.infants == 0:
            raise ValueError("a hold needs at least one person")
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        if self.adults == 0:
            raise ValueError("children and infants travel with an adult")
        return self


class QuoteLineOut(BaseModel):
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class QuoteOut(BaseModel):
    subtotal: Decimal
    taxes: Decimal
    total: Decimal
    currency: str
    lines: list[QuoteLineOut]


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    slot_id: UUID
    listing_id: UUID
    adults: int
    children: int
    infants: int
    seats: int
    status: str
    expires_at: datetime
    quote: QuoteOut
    booking_id: UUID | None = None


class HoldDetails(HoldOut):
    """A hold with what a booking made from it needs to know about the slot and listing."""

    provider_id: UUID
    listing_title: str
    category: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
