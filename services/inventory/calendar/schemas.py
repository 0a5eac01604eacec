from datetime import date
from uuid import UUID

from pydantic import BaseModel


class CalendarDay(BaseModel):
    date: date
    slots: int
    available_seats: int
    has_availability: bool


class MonthCalendar(BaseModel):
    listing_id: UUID
    year: int
    month: int
    days: list[CalendarDay]
