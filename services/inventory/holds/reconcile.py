"""Reconciliation: Redis's counts of a slot brought back to what PostgreSQL says.

Capacity and confirmed seats are PostgreSQL's; a hold recorded active there and missing from
Redis is put back. A hold in Redis with no record is left to lapse at its TTL (its record may
be a moment from being committed). Each slot is fixed under its row lock, which the sale of
seats also takes, so nothing is read half-way through a sale."""

import asyncio
import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.holds.models import SeatHold
from services.inventory.holds.seats import RedisSeats
from services.inventory.schedules.models import Slot
from shared.clock import Clock

logger = logging.getLogger(__name__)


async def reconcile_loaded_slots(
    session_factory: async_sessionmaker[AsyncSession], *, seats: RedisSeats, clock: Clock
) -> int:
    """Check every slot Redis holds counts for; returns how many needed fixing."""
    fixed = 0
    this_task = asyncio.current_task()
    async for slot_id in seats.loaded_slots():
        # A cancellation can be absorbed by a session's cleanup; a long pass must still stop.
        if this_task is not None and this_task.cancelling():
            raise asyncio.CancelledError
        async with session_factory() as session, session.begin():
            slot = await session.get(Slot, slot_id, with_for_update=True)
            if slot is None:
                await seats.forget(slot_id)
                continue
            if await _reconcile(session, seats=seats, slot=slot, now=clock.now()):
                fixed += 1
    return fixed


async def _reconcile(session: AsyncSession, *, seats: RedisSeats, slot: Slot, now: datetime) -> bool:
    live: list[tuple[UUID, int, datetime]] = [
        (row.id, row.seats, row.expires_at)
        for row in (
            await session.execute(
                select(SeatHold.id, SeatHold.seats, SeatHold.expires_at).where(
                    SeatHold.slot_id == slot.id, SeatHold.status == "active", SeatHold.expires_at > now
                )
            )
        ).all()
    ]
    drift = await seats.repair(slot.id, capacity=slot.capacity, confirmed=slot.confirmed_seats, holds=live)
    if drift:
        logger.warning("slot %s: Redis drifted from PostgreSQL (%s); repaired", slot.id, ", ".join(drift))
    return bool(drift)
