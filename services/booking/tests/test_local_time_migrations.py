"""Rows stored before times carried their zone get it on upgrade: a declined request's
alternatives their zone and instants, a booking change its booking's zone."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command

from services.booking.modifications.models import BookingModification
from services.booking.requests.models import BookingRequest
from services.booking.tests.conftest import BookingApp
from shared.migrations import alembic_config, upgrade_to_head
from shared.testing import make_identity

MIGRATIONS = Path("services/booking/migrations")


def _downgrade_to_before_local_times(database_url: str) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["database_url"] = database_url
    command.downgrade(config, "0016")


async def test_stored_alternatives_and_changes_get_their_zone_and_times_on_upgrade(
    booking_app: BookingApp, database_url: str
) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    now = booking_app.clock.now()
    booking = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=timedelta(days=5), timezone="America/St_Johns"
    )
    alternative: dict[str, Any] = {
        "slot_id": str(uuid.uuid4()),
        "date": "2031-05-10",
        "start_time": "23:00",
        "end_time": "01:00",
        "available": 4,
        "unit_price": None,
    }
    declined = BookingRequest(
        traveler_id=traveler.user_id,
        traveler_email=traveler.email,
        provider_id=provider.user_id,
        listing_id=uuid.uuid4(),
        listing_title="Private cooking class",
        timezone="Asia/Kathmandu",
        currency="EUR",
        slot_id=uuid.uuid4(),
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=5, hours=2),
        adults=1,
        children=0,
        infants=0,
        seats=1,
        contact={"name": "Ana", "email": "ana@example.com"},
        price_estimate={},
        status="declined",
        requested_at=now,
        expires_at=now + timedelta(hours=48),
        responded_at=now,
        alternatives=[alternative],
    )
    change = BookingModification(
        booking_id=booking.id,
        number=1,
        status="applied",
        requested_by=traveler.user_id,
        old_slot_id=booking.slot_id,
        old_hold_id=booking.hold_id,
        old_party={"adults": 2, "children": 0, "infants": 0},
        old_total=Decimal("88.00"),
        new_slot_id=uuid.uuid4(),
        new_hold_id=uuid.uuid4(),
        new_party={"adults": 1, "children": 0, "infants": 0},
        new_seats=1,
        new_total=Decimal("44.00"),
        new_quote={},
        new_starts_at=booking.starts_at,
        new_ends_at=booking.ends_at,
        # Whatever is stored now goes with the downgrade; the upgrade finds the booking's zone.
        timezone="UTC",
        difference=Decimal("-44.00"),
        charge=Decimal("0"),
        refund=Decimal("44.00"),
        balance=Decimal("0"),
        currency="EUR",
        expires_at=now + timedelta(minutes=15),
        created_at=now,
    )
    async with booking_app.sessions() as session, session.begin():
        session.add_all([declined, change])

    await asyncio.to_thread(_downgrade_to_before_local_times, database_url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url=database_url)

    request_read = await booking_app.client.get(f"/booking-requests/{declined.id}", headers=booking_app.as_(traveler))
    changes_read = await booking_app.client.get(
        f"/bookings/{booking.id}/modifications", headers=booking_app.as_(traveler)
    )
    shown = request_read.json()["alternatives"][0]
    # 23:00 to 01:00 in Kathmandu (UTC+05:45): the end is the next day's 01:00.
    assert (shown["timezone"], shown["starts_at"], shown["ends_at"], shown["local_ends_at"]) == (
        "Asia/Kathmandu",
        "2031-05-10T17:15:00Z",
        "2031-05-10T19:15:00Z",
        "2031-05-11T01:00:00+05:45",
    )
    assert changes_read.json()["items"][0]["timezone"] == "America/St_Johns"
