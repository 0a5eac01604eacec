import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Whether whoever holds the link sees what the items cost.
    show_prices: bool = True


class ShareOut(BaseModel):
    """The share link, given once: only its token's hash is kept."""

    trip_id: UUID
    token: str
    url: str
    show_prices: bool
    shared_at: datetime.datetime


class SharedPrice(BaseModel):
    amount: Decimal
    currency: str
    # An estimate (planned), or the exact price (quoted or charged).
    is_estimate: bool


class SharedItem(BaseModel):
    type: str
    title: str
    # In the trip's zone (`timezone`).
    start_time: datetime.time | None
    duration_minutes: int | None
    location: str | None
    booking_status: str
    # Null when the owner shares the trip without prices.
    price: SharedPrice | None


class SharedDay(BaseModel):
    day: int
    date: datetime.date
    items: list[SharedItem]


class SharedTripOut(BaseModel):
    """What a share link shows: the plan, day by day, without whose it is, how it was booked
    or paid for, and without prices unless the owner allowed them."""

    title: str
    destinations: list[str]
    start_date: datetime.date
    end_date: datetime.date
    timezone: str
    status: str
    prices_shown: bool
    days: list[SharedDay]
