from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.booking.bookings.schemas import Money, PaymentOut
from shared.times import LocalTimes


class ModificationRequest(BaseModel):
    """Another slot (of the same listing) and/or another party; what is left out stays."""

    model_config = ConfigDict(extra="forbid")

    slot_id: UUID | None = None
    adults: int | None = Field(default=None, ge=0, le=50)
    children: int | None = Field(default=None, ge=0, le=50)
    infants: int | None = Field(default=None, ge=0, le=50)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _changes_something(self) -> "ModificationRequest":
        if self.slot_id is None and self.adults is None and self.children is None and self.infants is None:
            raise ValueError("give a slot_id or a party to change to")
        return self


class ModificationOut(LocalTimes):
    """A change; the new slot's start and end in UTC and in the listing's zone (`timezone`)."""

    id: UUID
    booking_id: UUID
    number: int
    status: str
    reason: str | None
    slot_id: UUID
    adults: int
    children: int
    infants: int
    seats: int
    total: Money
    # The new total less the old.
    difference: Decimal
    # What the change does to the booking's money: paid now (the PaymentIntent's amount),
    # refunded, and the balance left to pay and when it is charged (as planned when asked,
    # as settled once applied).
    amount_due_now: Money
    refund: Money
    balance: Money
    balance_due_at: datetime | None
    payment: PaymentOut | None
    expires_at: datetime
    created_at: datetime


class ModificationPage(BaseModel):
    items: list[ModificationOut]
