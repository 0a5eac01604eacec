"""Randomized runs of holds, releases, expiries and sales on a few slots, with Redis losing
everything now and then: confirmed + held never exceeds capacity, and the counts stay exact."""

import random
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.bookings.events import BookingPaymentReceived
from services.inventory.holds.consumers import booking_events_consumer
from services.inventory.holds.models import SeatHold
from services.inventory.holds.reconcile import reconcile_loaded_slots
from services.inventory.holds.seats import RedisSeats
from services.inventory.schedules.models import Slot
from services.inventory.tests.conftest import Inventory, create_listing_with_slot
from shared.auth import Identity
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope
from shared.testing import make_identity

CAPACITY = 5


@pytest.mark.parametrize("seed", [7, 42, 2031])
async def test_random_holds_releases_expiries_sales_and_redis_losses_keep_the_invariant(
    inventory: Inventory, provider: Identity, redis_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    slots = [
        (await create_listing_with_slot(inventory, provider, capacity=CAPACITY, hold_ttl_seconds=120))[1]
        for _ in range(3)
    ]
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    sessions = create_session_factory(engine)
    redis = Redis.from_url(redis_url)
    seats = RedisSeats(redis)
    sell = booking_events_consumer(seats=seats, clock=inventory.clock).handlers[BookingPaymentReceived.event_type]
    live: list[tuple[str, str, Identity, int]] = []  # (hold id, slot id, holder, seats)
    try:
        for _ in range(120):
            action = rng.choice(["hold", "hold", "hold", "release", "sell", "time", "redis_lost"])
            if action == "hold":
                holder, party = make_identity("traveler"), rng.randint(1, 3)
                slot_id = rng.choice(slots)
                answer = await inventory.client.post(
                    "/holds", json={"slot_id": slot_id, "adults": party}, headers=inventory.as_(holder)
                )
                assert answer.status_code in (201, 409), answer.text
                if answer.status_code == 201:
                    live.append((answer.json()["id"], slot_id, holder, party))
            elif action == "release" and live:
                hold_id, _, holder, _ = live.pop(rng.randrange(len(live)))
                assert (
                    await inventory.client.delete(f"/holds/{hold_id}", headers=inventory.as_(holder))
                ).status_code == 204
            elif action == "sell" and live:
                hold_id, slot_id, _, party = live.pop(rng.randrange(len(live)))
                event = BookingPaymentReceived(
                    booking_id=uuid.uuid4(), hold_id=uuid.UUID(hold_id), slot_id=uuid.UUID(slot_id), seats=party
                )
                async with sessions() as session, session.begin():
                    await sell(session, EventEnvelope.wrap(event, producer="booking", key=str(event.booking_id)))
            elif action == "time":
                inventory.clock.advance(timedelta(seconds=rng.choice([30, 60, 121])))
            elif action == "redis_lost":
                await redis.flushdb()
            await _assert_invariant(inventory, sessions, slots)
        await reconcile_loaded_slots(sessions, seats=seats, clock=inventory.clock)
        await _assert_invariant(inventory, sessions, slots)
    finally:
        await redis.aclose()
        await engine.dispose()


async def _assert_invariant(inventory: Inventory, sessions: async_sessionmaker[AsyncSession], slots: list[str]) -> None:
    now = inventory.clock.now()
    async with sessions() as session:
        for slot_id in slots:
            slot = await session.get_one(Slot, uuid.UUID(slot_id))
            held: int = (
                await session.scalar(
                    select(func.coalesce(func.sum(SeatHold.seats), 0)).where(
                        SeatHold.slot_id == slot.id, SeatHold.status == "active", SeatHold.expires_at > now
                    )
                )
                or 0
            )
            assert slot.confirmed_seats + held <= slot.capacity
            day = (now + timedelta(days=1)).date().isoformat()
            listing_slots = (
                await inventory.client.get(f"/listings/{slot.listing_id}/availability", params={"date": day})
            ).json()["slots"]
            shown = listing_slots[0]["available"] if listing_slots else 0
            assert shown == slot.capacity - slot.confirmed_seats - held, "Redis counts exactly what PostgreSQL records"


async def test_reconciliation_repairs_counts_that_drifted(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6)
    hold = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert hold.status_code == 201
    redis = Redis.from_url(redis_url)
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    try:
        await redis.hset(f"slot:{{{slot_id}}}:seats", "confirmed", 3)
        await redis.zrem(f"slot:{{{slot_id}}}:holds", f"{hold.json()['id']}:2")
        day = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
        drifted = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
        assert drifted["slots"][0]["available"] == 3
        fixed = await reconcile_loaded_slots(
            create_session_factory(engine), seats=RedisSeats(redis), clock=inventory.clock
        )
        assert fixed >= 1
        repaired = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
        assert repaired["slots"][0]["available"] == 4
    finally:
        await redis.aclose()
        await engine.dispose()
