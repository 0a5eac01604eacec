from datetime import date, time
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.inventory.schedules.domain import Recurrence


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: time
    duration_minutes: int = Field(ge=1, le=60 * 24 * 30)
    recurrence: Recurrence = "none"
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    capacity: int = Field(ge=1, le=100_000)
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


class Price(BaseModel):
    amount: Decimal
    currency: str


class SlotAvailability(BaseModel):
    slot_id: UUID
    date: date
    start_time: str
    end_time: str
    capacity: int
    available: int
    price: Price


class Availability(BaseModel):
    listing_id: UUID
    date: date
    party_size: int
    slots: list[SlotAvailability]
