import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notification.email.service import booking_events_consumer, send_pending_emails
from services.notification.settings import NotificationSettings, get_settings
from shared.app import AppResources, create_app, run_with_restarts
from shared.clock import Clock, SystemClock


def build_app(settings: NotificationSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def deliver_forever(resources: AppResources) -> None:
        while True:
            if not await send_pending_emails(resources.session_factory, settings=settings, now=clock.now()):
                await asyncio.sleep(settings.delivery_interval_seconds)

    @asynccontextmanager
    async def run_delivery(_: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        worker = asyncio.create_task(run_with_restarts("email delivery", lambda: deliver_forever(resources)))
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    return create_app(
        settings,
        title="Notification",
        consumers=[booking_events_consumer(settings)],
        lifespan_hook=run_delivery,
    )
