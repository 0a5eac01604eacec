"""Reconciliation: Redis's counts of a seat pool (a slot, or a day's pool) brought back to
what PostgreSQL says.

Capacity and confirmed seats are PostgreSQL's; a hold recorded active there and missing from
Redis is put back. A hold in Redis with no record is left to lapse at its TTL (its record may
be a moment from being committed). Each pool is fixed under its row lock, which the sale of
seats also takes, so nothing is read half-way through a sale."""

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import SeatPool, live_holds
from services.inventory.schedules.models import DayPool, Slot
from shared.clock import Clock

logger = logging.getLogger(__name__)


async def reconcile_loaded_slots(
    session_factory: async_sessionmaker[AsyncSession], *, seats: RedisSeats, clock: Clock
) -> int:
    """Check every seat pool (a slot, or a day's pool) Redis holds counts for; returns how
    many needed fixing."""
    fixed = 0
    this_task = asyncio.current_task()
    async for pool_id in seats.loaded_slots():
        # A cancellation can be absorbed by a session's cleanup; a long pass must still stop.
        if this_task is not None and this_task.cancelling():
            raise asyncio.CancelledError
        async with session_factory() as session, session.begin():
            pool: SeatPool | None = await session.get(Slot, pool_id, with_for_update=True) or await session.get(
                DayPool, pool_id, with_for_update=True
            )
            if pool is None:
                await seats.forget(pool_id)
                continue
            if await _reconcile(session, seats=seats, pool=pool, now=clock.now()):
                fixed += 1
    return fixed


async def _reconcile(session: AsyncSession, *, seats: RedisSeats, pool: SeatPool, now: datetime) -> bool:
    live = await live_holds(session, pool, now=now)
    drift = await seats.repair(pool.id, capacity=pool.capacity, confirmed=pool.confirmed_seats, holds=live)
    if drift:
        logger.warning("seats of %s: Redis drifted from PostgreSQL (%s); repaired", pool.id, ", ".join(drift))
    return bool(drift)
