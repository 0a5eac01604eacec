"""Slots are kept generated up to the rolling horizon, and generating again adds nothing."""

from datetime import timedelta
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.schedules.models import Slot
from services.inventory.schedules.service import top_up_slots
from services.inventory.tests.conftest import LISTING, Inventory
from shared.db import create_engine, create_session_factory
from shared.identity import Identity


async def _slot_count(sessions: async_sessionmaker[AsyncSession], listing_id: str) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Slot.listing_id == UUID(listing_id))) or 0)


async def test_the_horizon_rolls_forward_and_top_ups_are_idempotent(
    inventory: Inventory, provider: Identity, redis_url: str
) -> None:
    listing_id = (await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))).json()["id"]
    start = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 4,
            "valid_from": start.isoformat(),
        },
        headers=inventory.as_(provider),
    )
    horizon = inventory.settings.slot_horizon_days
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    redis = Redis.from_url(redis_url)
    try:
        sessions = create_session_factory(engine)
        generated = await _slot_count(sessions, listing_id)
        assert generated == schedule.json()["slots_generated"]
        # Every day to the horizon, less any global blackout another test left in this database.
        assert horizon - 2 <= generated <= horizon

        await top_up_slots(sessions, redis=redis, clock=inventory.clock, horizon_days=horizon)
        assert await _slot_count(sessions, listing_id) == generated
        inventory.clock.advance(timedelta(days=10))
        await top_up_slots(sessions, redis=redis, clock=inventory.clock, horizon_days=horizon)
        assert await _slot_count(sessions, listing_id) == generated + 10
        await top_up_slots(sessions, redis=redis, clock=inventory.clock, horizon_days=horizon)
        assert await _slot_count(sessions, listing_id) == generated + 10
    finally:
        await redis.aclose()
        await engine.dispose()
    last_day = (inventory.clock.now() + timedelta(days=horizon)).date().isoformat()
    slots = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": last_day})).json()
    assert len(slots["slots"]) == 1
