from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BlackoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: date
    end_date: date
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _in_order(self) -> "BlackoutCreate":
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("a blackout lasts a year at most")
        return self


class BlackoutSlotOut(BaseModel):
    """A slot the blackout took out, and what was taken on it then: its bookings (paid, or
    held while being paid), which booking cancels as the provider's cancellation."""

    model_config = ConfigDict(from_attributes=True)

    slot_id: UUID
    listing_id: UUID
    starts_at: datetime
    bookings: int
    seats_taken: int


class BlackoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    listing_id: UUID | None
    start_date: date
    end_date: date
    reason: str
    created_at: datetime
    lifted_at: datetime | None
    # How many slots it took out, those of them with seats sold or held, and how many
    # bookings (or holds on their way to one) were on them, as when it was placed.
    slots_closed: int
    slots_with_bookings: list[UUID]
    bookings_affected: int
    slots: list[BlackoutSlotOut]
    # On lifting: the slots put back on sale.
    slots_reopened: list[UUID] = []


class BlackoutPage(BaseModel):
    items: list[BlackoutOut]
    next_cursor: str | None
