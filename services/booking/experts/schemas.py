import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.booking.bookings.schemas import Contact, Money
from shared.money import CurrencyCode, exact_amount


class MoneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0, le=Decimal(1_000_000), decimal_places=2)
    currency: CurrencyCode

    @model_validator(mode="after")
    def _in_the_currencys_steps(self) -> "MoneyIn":
        exact_amount(self.amount, self.currency)
        return self


class HandoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expert_id: UUID
    description: str = Field(min_length=1, max_length=4000)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    budget: MoneyIn | None = None
    # The traveler's trip for the expert to plan; one is made from the above when accepted.
    trip_id: UUID | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> "HandoffCreate":
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class HandoffClose(BaseModel):
    """Why the expert declines or the traveler cancels."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class BookOnBehalf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_id: UUID
    adults: int = Field(default=1, ge=0, le=50)
    children: int = Field(default=0, ge=0, le=50)
    infants: int = Field(default=0, ge=0, le=50)
    # The traveler's own address when not given.
    contact: Contact | None = None
    special_requests: str | None = Field(default=None, max_length=2000)


class HandoffBookingOut(BaseModel):
    booking_id: UUID
    reference: str
    status: str
    total: Decimal
    expert_fee: Decimal
    currency: str
    booked_at: datetime.datetime


class HandoffOut(BaseModel):
    id: UUID
    traveler_id: UUID
    expert_id: UUID
    description: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    budget: Money | None
    status: str
    status_reason: str | None
    # The trip the expert plans: they edit its items, which the traveler's approval makes bookable.
    trip_id: UUID | None
    # The expert's share of each booking made through the handoff, once accepted.
    fee_percentage: Decimal | None
    requested_at: datetime.datetime
    accepted_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    approved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    bookings: list[HandoffBookingOut]


class HandoffPage(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expert_id: UUID
    spending_limit: MoneyIn | None = None
    expires_at: AwareDatetime | None = None


class GrantOut(BaseModel):
    id: UUID
    traveler_id: UUID
    expert_id: UUID
    status: Literal["active", "expired", "revoked"]
    spending_limit: Money | None
    # What the expert's live bookings under the grant come to (with a limit only).
    spent: Money | None
    expires_at: datetime.datetime | None
    granted_at: datetime.datetime
    revoked_at: datetime.datetime | None


class GrantPage(BaseModel):
    items: list[GrantOut]
    next_cursor: str | None = None


class ExpertProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personal_assistant: bool
    # The expert's own fee; the platform's default when null.
    fee_percentage: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)


class ExpertProfileOut(BaseModel):
    expert_id: UUID
    personal_assistant: bool
    fee_percentage: Decimal | None
    effective_fee_percentage: Decimal
    updated_by: UUID | None
    updated_at: datetime.datetime | None
