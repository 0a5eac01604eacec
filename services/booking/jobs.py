"""Booking's background work, run beside the HTTP app."""

import asyncio
import logging

from services.booking.bookings.service import complete_finished_bookings
from shared.app import AppResources
from shared.clock import Clock

logger = logging.getLogger(__name__)


async def complete_bookings_forever(resources: AppResources, *, clock: Clock, interval_seconds: float) -> None:
    while True:
        completed = await complete_finished_bookings(resources.session_factory, clock=clock)
        if completed:
            logger.info("completed %d bookings whose slot has ended", completed)
            continue
        await asyncio.sleep(interval_seconds)
