"""Notification's background work, run beside the HTTP app."""

import asyncio
import random
from collections.abc import Mapping

from services.notification.manifests.service import send_due_manifests
from services.notification.notifications.domain import Sender
from services.notification.notifications.metrics import DeliveryMetrics
from services.notification.notifications.service import DeliveryPolicy, deliver_due
from services.notification.reminders.service import send_due_reminders
from services.notification.settings import NotificationSettings
from shared.app import AppResources, job_pass
from shared.clock import Clock


async def deliver_forever(
    resources: AppResources,
    *,
    senders: Mapping[str, Sender],
    clock: Clock,
    policy: DeliveryPolicy,
    metrics: DeliveryMetrics,
    interval_seconds: float,
) -> None:
    rng = random.Random()  # noqa: S311  (jitter spreads retries; it guards nothing)
    while True:
        async with job_pass():
            claimed = await deliver_due(
                resources.session_factory, senders=senders, clock=clock, policy=policy, metrics=metrics, rng=rng
            )
        if not claimed:
            await asyncio.sleep(interval_seconds)


async def remind_forever(resources: AppResources, *, settings: NotificationSettings, clock: Clock) -> None:
    while True:
        async with job_pass():
            taken = await send_due_reminders(
                resources.session_factory,
                now=clock.now(),
                settings=settings,
                redis=resources.redis,
                limit=settings.delivery_batch_size,
            )
        if not taken:
            await asyncio.sleep(settings.reminder_interval_seconds)


async def send_manifests_forever(resources: AppResources, *, settings: NotificationSettings, clock: Clock) -> None:
    while True:
        async with job_pass():
            await send_due_manifests(
                resources.session_factory, now=clock.now(), settings=settings, redis=resources.redis
            )
        await asyncio.sleep(settings.manifest_interval_seconds)
