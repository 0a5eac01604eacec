import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class WaitlistJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listing_id: UUID
    date: datetime.date
    party_size: int = Field(ge=1, le=50)


class WaitlistEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    listing_id: UUID
    date: datetime.date = Field(validation_alias="local_date")
    party_size: int
    # Higher is offered first; then first come.
    priority: int
    status: str
    # While offered: the hold to book from (POST /bookings with hold_id) and until when.
    hold_id: UUID | None
    offer_expires_at: datetime.datetime | None
    created_at: datetime.datetime


class WaitlistPage(BaseModel):
    items: list[WaitlistEntryOut]
    next_cursor: str | None = None


class PriorityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: int = Field(ge=0, le=100)
    reason: str = Field(min_length=1, max_length=500)
