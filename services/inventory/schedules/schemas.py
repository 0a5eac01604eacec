from datetime import date, time
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.inventory.schedules.domain import Recurrence
from shared.contracts.inventory_api import SlotAvailability
from shared.times import LocalTimes


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: time
    duration_minutes: int = Field(ge=1, le=60 * 24 * 30)
    recurrence: Recurrence = "none"
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    # Seats per slot; left out on listings whose capacity is per day.
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    valid_from: date
    valid_until: date | None = None
    price_override: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000"), decimal_places=2)

    @model_validator(mode="after")
    def _consistent(self) -> "ScheduleCreate":
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if any(day < 0 or day > 6 for day in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        if self.weekdays and self.recurrence not in ("weekly", "biweekly"):
            raise ValueError("weekdays apply to weekly and biweekly schedules only")
        return self


class ScheduleOut(ScheduleCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: UUID
    listing_id: UUID
    slots_generated: int = 0


class Availability(BaseModel):
    listing_id: UUID
    date: date
    party_size: int
    slots: list[SlotAvailability]


class ScheduleUpdate(BaseModel):
    """Any of a schedule's fields; the result must be a valid schedule."""

    model_config = ConfigDict(extra="forbid")

    start_time: time | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    recurrence: Recurrence | None = None
    weekdays: list[int] | None = Field(default=None, max_length=7)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    valid_from: date | None = None
    valid_until: date | None = None
    price_override: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000"), decimal_places=2)


class ScheduleChange(BaseModel):
    """What an edit did to the schedule's future slots. Seats already confirmed or held are
    never moved or dropped: a slot with them that no longer fits the schedule is closed to new
    sales and listed in `booked_slots_closed`; one whose capacity would fall below them keeps
    exactly them (`capacity_kept_at_taken`)."""

    schedule: ScheduleOut
    slots_added: int
    slots_updated: int
    slots_closed: int
    slots_reopened: int
    booked_slots_closed: list[UUID]
    capacity_kept_at_taken: list[UUID]


class SlotUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int | None = Field(default=None, ge=0, le=100_000)
    price_override: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000"), decimal_places=2)
    on_sale: bool | None = None


class SlotOut(LocalTimes):
    id: UUID
    listing_id: UUID
    schedule_id: UUID
    local_date: date
    capacity: int
    confirmed_seats: int
    available: int
    price_override: Decimal | None
    closed_reason: str | None


class DayUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int = Field(ge=0, le=100_000)


class DayOut(BaseModel):
    """One date of a listing whose capacity is per day: the pool its slots share."""

    date: date
    capacity: int
    confirmed_seats: int
    available: int
    slots: int
