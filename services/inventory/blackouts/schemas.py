from datetime import date
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


class BlackoutOut(BlackoutCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: UUID
    listing_id: UUID | None
    slots_closed: int = 0
    slots_with_bookings: list[UUID] = []
