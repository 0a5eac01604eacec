"""Trips and their items put straight into the tables, as the trips API would leave them."""

import uuid
from datetime import date, datetime
from typing import Any

from services.booking.tests.conftest import BookingApp
from services.booking.trips.models import Trip, TripItem
from shared.identity import Identity


async def add_trip(app: BookingApp, *, owner: Identity, **fields: Any) -> Trip:
    now = app.clock.now()
    columns: dict[str, Any] = {
        "id": uuid.uuid4(),
        "traveler_id": owner.user_id,
        "traveler_email": owner.email,
        "title": "Lisbon long weekend",
        "destinations": ["Lisbon", "Sintra"],
        "start_date": date(2031, 6, 12),
        "end_date": date(2031, 6, 15),
        "travelers": 2,
        "timezone": "Europe/Lisbon",
        "created_at": now,
        "updated_at": now,
    }
    trip = Trip(**columns | fields)
    async with app.sessions() as session, session.begin():
        session.add(trip)
    return trip


async def add_item(app: BookingApp, trip: Trip, *, day: int, title: str, **fields: Any) -> TripItem:
    now = app.clock.now()
    columns: dict[str, Any] = {
        "id": uuid.uuid4(),
        "trip_id": trip.id,
        "day": day,
        "position": 0,
        "type": "activity",
        "title": title,
        "created_at": now,
        "updated_at": now,
    }
    item = TripItem(**columns | fields)
    async with app.sessions() as session, session.begin():
        session.add(item)
    return item


async def change_item(app: BookingApp, item: TripItem, *, at: datetime, **fields: Any) -> None:
    """An item edited (or its booking's status changed) at `at`."""
    async with app.sessions() as session, session.begin():
        stored = await session.get_one(TripItem, item.id)
        for name, value in fields.items():
            setattr(stored, name, value)
        stored.updated_at = at
