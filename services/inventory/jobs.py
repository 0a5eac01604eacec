"""Inventory's background work, run beside the HTTP app."""

import asyncio
import logging

from services.inventory.holds.reconcile import reconcile_loaded_slots
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import release_expired_holds
from services.inventory.schedules.service import top_up_slots
from services.inventory.views.service import flush_view_counts
from shared.app import AppResources, job_pass
from shared.clock import Clock

logger = logging.getLogger(__name__)


async def expire_holds_forever(resources: AppResources, *, clock: Clock, interval_seconds: float) -> None:
    seats = RedisSeats(resources.redis)
    while True:
        async with job_pass():
            expired = await release_expired_holds(resources.session_factory, seats=seats, clock=clock)
        if expired:
            logger.info("recorded %d expired holds", expired)
            continue
        await asyncio.sleep(interval_seconds)


async def reconcile_forever(resources: AppResources, *, clock: Clock, interval_seconds: float) -> None:
    seats = RedisSeats(resources.redis)
    while True:
        await asyncio.sleep(interval_seconds)
        async with job_pass():
            await reconcile_loaded_slots(resources.session_factory, seats=seats, clock=clock)


async def top_up_slots_forever(
    resources: AppResources, *, clock: Clock, horizon_days: int, interval_seconds: float
) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        async with job_pass():
            added = await top_up_slots(
                resources.session_factory, redis=resources.redis, clock=clock, horizon_days=horizon_days
            )
        if added:
            logger.info("generated %d slots up to the %d-day horizon", added, horizon_days)


async def flush_views_forever(resources: AppResources, *, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        async with job_pass():
            sent = await flush_view_counts(resources.session_factory, resources.redis)
        if sent:
            logger.info("sent %d listing view counts", sent)
