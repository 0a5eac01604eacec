from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field


class OccupancyItem(BaseModel):
    listing_id: UUID
    provider_id: UUID | None = Field(description="Null while analytics has not seen the listing's first confirmation.")
    title: str | None = Field(description="The listing's title as its latest confirmed booking said it.")
    local_date: date = Field(description="The slot's date in the listing's time zone.")
    slot_id: UUID | None = Field(description="Null when grouped by day.")
    starts_at: datetime | None = Field(description="Null when grouped by day.")
    slots: int = Field(description="Slots counted: those that sold at least a seat.")
    capacity: int = Field(
        description="Seats offered: the slots' capacities, or a per-day capacity (shared by the day's slots) once."
    )
    seats_sold: int = Field(description="Seats confirmed less seats given back.")
    occupancy: float | None = Field(description="seats_sold / capacity, to four places; null when capacity is 0.")


class Occupancy(BaseModel):
    start: date
    end: date
    group_by: str
    listing_id: UUID | None
    items: list[OccupancyItem]
    next_cursor: str | None
