"""Booking's background work, run beside the HTTP app."""

import asyncio
import logging

from services.booking.balances.domain import BalanceSchedule
from services.booking.balances.service import charge_due_balances
from services.booking.bookings.service import complete_finished_bookings
from services.booking.requests.domain import Deadlines
from services.booking.requests.service import handle_request_deadlines
from services.booking.upstreams.binding import UpstreamPools
from services.booking.webhooks.delivery import Sending, deliver_due
from shared.app import AppResources, job_pass
from shared.clock import Clock

logger = logging.getLogger(__name__)


async def complete_bookings_forever(resources: AppResources, *, clock: Clock, interval_seconds: float) -> None:
    while True:
        async with job_pass():
            completed = await complete_finished_bookings(resources.session_factory, clock=clock)
        if completed:
            logger.info("completed %d bookings whose slot has ended", completed)
            continue
        await asyncio.sleep(interval_seconds)


async def handle_request_deadlines_forever(
    resources: AppResources, *, clock: Clock, deadlines: Deadlines, interval_seconds: float
) -> None:
    while True:
        async with job_pass():
            handled = await handle_request_deadlines(resources.session_factory, clock=clock, deadlines=deadlines)
        if handled:
            logger.info("handled %d booking request deadlines (reminders, expiries, lapsed counters)", handled)
            continue
        await asyncio.sleep(interval_seconds)


async def charge_due_balances_forever(
    resources: AppResources,
    *,
    clock: Clock,
    upstreams: UpstreamPools,
    schedule: BalanceSchedule,
    interval_seconds: float,
) -> None:
    while True:
        async with job_pass():
            charged = await charge_due_balances(
                resources.session_factory, clock=clock, upstreams=upstreams, schedule=schedule
            )
        if charged:
            logger.info("asked payment to charge %d due balances", charged)
            continue
        await asyncio.sleep(interval_seconds)


async def deliver_webhooks_forever(resources: AppResources, *, sending: Sending, interval_seconds: float) -> None:
    while True:
        async with job_pass():
            sent = await deliver_due(resources.session_factory, sending=sending)
        if sent:
            logger.debug("sent %d webhook deliveries", sent)
            continue
        await asyncio.sleep(interval_seconds)
