import asyncio

from fastapi import FastAPI

from services.notification.email.service import booking_events_consumer, send_pending_emails
from services.notification.identity.service import identity_events_consumer
from services.notification.settings import NotificationSettings, get_settings
from services.notification.sms.router import router as sms_router
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock


def build_app(settings: NotificationSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def deliver_email(resources: AppResources) -> None:
        while True:
            if not await send_pending_emails(resources.session_factory, settings=settings, now=clock.now()):
                await asyncio.sleep(settings.delivery_interval_seconds)

    return create_app(
        settings,
        title="Notification",
        routers=[sms_router],
        consumers=[booking_events_consumer(settings), identity_events_consumer(settings)],
        background_jobs=[BackgroundJob("email delivery", deliver_email)],
    )
