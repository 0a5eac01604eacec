from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from services.booking.balances.domain import PaymentOption
from services.booking.cancellations.domain import CancellationPolicy
from shared.money import money
from shared.times import LocalTimes


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=40)


class BookingCreate(BaseModel):
    """From a hold, or from a slot and a party (the hold is then placed for the traveler)."""

    model_config = ConfigDict(extra="forbid")

    hold_id: UUID | None = None
    slot_id: UUID | None = None
    adults: int = Field(default=1, ge=0, le=50)
    children: int = Field(default=0, ge=0, le=50)
    infants: int = Field(default=0, ge=0, le=50)
    contact: Contact
    special_requests: str | None = Field(default=None, max_length=2000)
    # A deposit whose balance would fall due before now is paid in full (payment_option full).
    payment_option: PaymentOption = "full"
    # Pay with the traveler's credit in the booking's currency first (at most `credit_limit`),
    # the rest by card; credit that covers what is due now confirms the booking with no card.
    use_credit: bool = False
    credit_limit: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), decimal_places=2)

    @model_validator(mode="after")
    def _hold_or_slot(self) -> "BookingCreate":
        if (self.hold_id is None) == (self.slot_id is None):
            raise ValueError("give either hold_id or slot_id")
        return self


class PaymentOut(BaseModel):
    provider: Literal["stripe"] = "stripe"
    payment_intent_id: str | None
    client_secret: str | None


class Money(BaseModel):
    amount: Decimal
    currency: str

    @model_validator(mode="after")
    def _in_the_currencys_digits(self) -> "Money":
        self.amount = money(self.amount, self.currency)
        return self


class BookingOut(LocalTimes):
    """A booking; its slot's start and end in UTC and in the listing's zone (`timezone`)."""

    id: UUID
    reference: str
    status: str
    status_reason: str | None
    listing_id: UUID
    slot_id: UUID
    hold_id: UUID
    listing_title: str
    adults: int
    children: int
    infants: int
    seats: int
    total: Decimal
    amount_due_now: Decimal
    # What the traveler has paid so far: the payment at booking, changes' differences (less
    # what went back) and the balance once paid.
    amount_paid: Decimal
    currency: str
    payment_option: PaymentOption
    quote: dict[str, Any]
    contact: dict[str, Any]
    special_requests: str | None
    expires_at: datetime
    created_at: datetime
    payment: PaymentOut
    cancellation_policy: CancellationPolicy
    # Set once the booking is cancelled: by whom, and what goes back to the traveler.
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    refund: Money | None = None
    credit: Money | None = None
    # What of the amount due now the traveler's credit paid (or holds until the card pays).
    credit_used: Money | None = None
    # A deposit booking's rest: how much, when it is charged to the saved card, and when paid.
    balance: Money | None = None
    balance_due_at: datetime | None = None
    balance_paid_at: datetime | None = None
    # Set when an expert booked it on the traveler's behalf.
    booked_by_expert_id: UUID | None = None

    @model_validator(mode="after")
    def _in_the_currencys_digits(self) -> "BookingOut":
        self.total, self.amount_due_now = money(self.total, self.currency), money(self.amount_due_now, self.currency)
        return self


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None
