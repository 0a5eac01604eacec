"""Seats held for the waitlist: inventory holds them for the first candidate whose party fits,
once however often booking asks, and says what the traveler's offer needs (the listing's title,
the slot's start and the listing's zone)."""

import uuid
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from services.inventory.holds.consumers import booking_events_consumer
from services.inventory.holds.seats import RedisSeats
from services.inventory.tests.conftest import Inventory, create_listing_with_slot
from shared.contracts.booking import WaitlistCandidate, WaitlistOfferRequested
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.identity import Identity


async def test_a_waitlist_hold_is_placed_once_for_the_first_party_that_fits_with_the_offers_facts(
    inventory: Inventory, provider: Identity, redis_url: str
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=3)
    too_large = WaitlistCandidate(entry_id=uuid.uuid4(), traveler_id=uuid.uuid4(), party_size=4)
    fits = WaitlistCandidate(entry_id=uuid.uuid4(), traveler_id=uuid.uuid4(), party_size=2)
    asked = WaitlistOfferRequested(
        listing_id=uuid.UUID(listing_id),
        local_date=(inventory.clock.now() + timedelta(days=1)).date(),
        claim_seconds=1800,
        candidates=[too_large, fits],
    )
    redis = Redis.from_url(redis_url)
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    sessions = create_session_factory(engine)
    handle = booking_events_consumer(seats=RedisSeats(redis), clock=inventory.clock).handlers[
        (asked.event_type, asked.event_version)
    ]
    try:
        for _ in range(2):  # asked again (another seat came free): the candidate is not held twice
            async with sessions() as session, session.begin():
                await handle(session, EventEnvelope.wrap(asked, producer="booking", key="l"))
        async with sessions() as session:
            placed: list[dict[str, Any]] = [
                envelope["payload"]
                for envelope in await session.scalars(
                    select(OutboxMessage.envelope).where(
                        OutboxMessage.event_type == "inventory.waitlist_hold_placed", OutboxMessage.key == slot_id
                    )
                )
            ]
    finally:
        await redis.aclose()
        await engine.dispose()

    [held] = placed
    assert {key: held[key] for key in ("entry_id", "holder_id", "slot_id", "seats", "expires_at")} == {
        "entry_id": str(fits.entry_id),
        "holder_id": str(fits.traveler_id),
        "slot_id": slot_id,
        "seats": 2,
        "expires_at": "2031-05-04T09:30:00Z",
    }
    # Tomorrow at 10:00 in Lisbon, summer time.
    assert (held["listing_title"], held["starts_at"], held["timezone"]) == (
        "Sunset kayak tour",
        "2031-05-05T09:00:00Z",
        "Europe/Lisbon",
    )
