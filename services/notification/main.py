from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notification.dead_letters.consumers import dead_letters_consumer
from services.notification.email.sender import SmtpSender
from services.notification.inapp.router import feed_router as notification_feed_router
from services.notification.inapp.router import router as inapp_router
from services.notification.jobs import deliver_forever, remind_forever, send_manifests_forever
from services.notification.notifications.consumers import (
    booking_events_consumer,
    identity_events_consumer,
    payment_events_consumer,
)
from services.notification.notifications.metrics import DeliveryMetrics
from services.notification.notifications.router import admin_router as notifications_admin_router
from services.notification.preferences.router import router as preferences_router
from services.notification.preferences.router import unsubscribe_router
from services.notification.settings import NotificationSettings, get_settings
from services.notification.sms.channel import SmsChannel
from services.notification.sms.router import router as sms_router
from services.notification.sms.sender import SmsSender
from shared.app import AppResources, BackgroundJob, create_app
from shared.clock import Clock, SystemClock
from shared.pubsub import PubSubHub


def build_app(settings: NotificationSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def deliver(resources: AppResources) -> None:
        # Opened here, in the running loop, for as long as the worker runs: its connection pool
        # is reused by every SMS.
        async with SmsSender(settings) as sms:
            await deliver_forever(
                resources,
                senders={"email": SmtpSender(settings), "sms": SmsChannel(sms)},
                clock=clock,
                policy=settings.delivery_policy(),
                metrics=delivery_metrics,
                interval_seconds=settings.delivery_interval_seconds,
            )

    async def remind(resources: AppResources) -> None:
        await remind_forever(resources, settings=settings, clock=clock)

    async def send_manifests(resources: AppResources) -> None:
        await send_manifests_forever(resources, settings=settings, clock=clock)

    @asynccontextmanager
    async def run_notification_hub(app: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        async with PubSubHub(resources.redis, name="in-app notifications").running() as hub:
            app.state.notification_hub = hub
            yield

    app = create_app(
        settings,
        title="Notification",
        routers=[
            preferences_router,
            unsubscribe_router,
            inapp_router,
            notification_feed_router,
            notifications_admin_router,
            sms_router,
        ],
        consumers=[
            lambda resources: booking_events_consumer(settings, clock, resources.redis),
            lambda resources: identity_events_consumer(settings, clock, resources.redis),
            lambda resources: dead_letters_consumer(settings, clock, resources.redis),
            lambda resources: payment_events_consumer(settings, clock, resources.redis),
        ],
        background_jobs=(
            [
                BackgroundJob("notification delivery", deliver),
                BackgroundJob("booking reminders", remind),
                BackgroundJob("providers' daily manifests", send_manifests),
            ]
            if settings.delivery_worker_enabled
            else []
        ),
        lifespan_hook=run_notification_hub,
    )
    delivery_metrics = DeliveryMetrics.register(app.state.metrics.registry)
    app.state.clock = clock
    app.state.delivery_metrics = delivery_metrics
    return app
