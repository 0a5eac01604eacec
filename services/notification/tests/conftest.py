import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.infra import free_port
from devstack.mailsink import MailStore, smtp_controller
from services.notification.directory.models import KnownAccount
from services.notification.email.sender import SmtpSender
from services.notification.inapp.models import InAppNotification
from services.notification.main import build_app
from services.notification.notifications.consumers import (
    booking_events_consumer,
    identity_events_consumer,
    payment_events_consumer,
)
from services.notification.notifications.metrics import DeliveryMetrics
from services.notification.notifications.models import AwaitedAccount, Delivery, Notification
from services.notification.notifications.service import deliver_due
from services.notification.reminders.models import ScheduledReminder
from services.notification.settings import NotificationSettings
from shared.clock import FrozenClock
from shared.contracts.booking import BookingConfirmed
from shared.db import create_engine, create_session_factory
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.migrations import upgrade_to_head
from shared.testing import consumer_record, identity_headers, trust_test_keys

DEFAULT_START = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


@dataclass
class SmtpSink:
    """The project's mail sink, its SMTP side in this process: `stop()` is an SMTP outage
    (connections refused), `start()` ends it."""

    port: int
    store: MailStore = field(default_factory=MailStore)
    _controller: Controller | None = None

    def start(self) -> None:
        self._controller = smtp_controller(self.store, self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self, message_id: str) -> list[dict[str, Any]]:
        return [message for message in self.store.messages if message["message_id"] == message_id]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class NotificationApp:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: NotificationSettings
    sessions: async_sessionmaker[AsyncSession]
    metrics: DeliveryMetrics
    bootstrap_servers: str
    redis: Redis
    # Seeded: the jitter of every run of a test is the same.
    rng: random.Random = field(default_factory=lambda: random.Random(15))

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience=self.settings.service_name)

    async def deliver(self, sessions: async_sessionmaker[AsyncSession] | None = None) -> int:
        """One round of the delivery worker (of another replica when given its sessions)."""
        return await deliver_due(
            sessions or self.sessions,
            senders={"email": SmtpSender(self.settings)},
            clock=self.clock,
            policy=self.settings.delivery_policy(),
            metrics=self.metrics,
            rng=self.rng,
        )

    async def consume(self, *envelopes: EventEnvelope) -> None:
        """Through the consumer of each event's producer (booking's, payment's, the gateway's) as
        Kafka would hand the messages over: the inbox in the way."""
        dead_letters = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers)
        await dead_letters.start()
        consumers = {
            producer: EventConsumer(
                spec=spec(self.settings, self.clock, self.redis),
                session_factory=self.sessions,
                bootstrap_servers=self.bootstrap_servers,
                dead_letter_producer=dead_letters,
                metrics=AppMetrics("test").consumer,
                max_attempts=1,
            )
            for producer, spec in (
                ("booking", booking_events_consumer),
                ("payment", payment_events_consumer),
                ("gateway", identity_events_consumer),
            )
        }
        try:
            for offset, envelope in enumerate(envelopes):
                await consumers[envelope.producer].handle_record(consumer_record(envelope, offset))
        finally:
            await dead_letters.stop()

    async def deliveries(self) -> list[Delivery]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Delivery).order_by(Delivery.queued_at, Delivery.id))).all())

    async def notifications(self) -> list[Notification]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Notification))).all())


def booking_confirmed(
    *, email: str = "ana@example.com", title: str = "Sunset kayak tour", traveler_id: uuid.UUID | None = None
) -> EventEnvelope:
    starts_at = datetime(2031, 5, 10, 9, 0, tzinfo=UTC)
    booking = BookingConfirmed(
        booking_id=uuid.uuid4(),
        reference=f"TRV-2031-{uuid.uuid4().hex[:6].upper()}",
        traveler_id=traveler_id or uuid.uuid4(),
        provider_id=uuid.uuid4(),
        listing_id=uuid.uuid4(),
        listing_title=title,
        category="tour",
        slot_id=uuid.uuid4(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        total=Decimal("88.00"),
        platform_fee=Decimal("13.20"),
        currency="EUR",
        contact_name="Ana",
        contact_email=email,
        confirmed_at=starts_at - timedelta(days=5),
    )
    return EventEnvelope.wrap(booking, producer="booking", key=str(booking.booking_id))


async def _forget_notifications(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Each test starts with no notification (nor reminder, nor known account): the worker
    would claim another test's, and every admin another test announced would be told."""
    async with sessions() as session, session.begin():
        await session.execute(delete(KnownAccount))
        await session.execute(delete(AwaitedAccount))
        await session.execute(delete(ScheduledReminder))
        await session.execute(delete(Delivery))
        await session.execute(delete(InAppNotification))
        await session.execute(delete(Notification))


@contextlib.asynccontextmanager
async def running_notification(
    database_url: str,
    redis_url: str,
    bootstrap_servers: str,
    smtp_port: int,
    *,
    starts_at: datetime = DEFAULT_START,
    settings_changes: Mapping[str, Any] | None = None,
) -> AsyncIterator[NotificationApp]:
    """A notification app in this process on a clock frozen at `starts_at`, driven over HTTP;
    its delivery worker is driven by the test (`NotificationApp.deliver`), one round at a time.
    `settings_changes` are set over the settings it runs with."""
    await asyncio.to_thread(upgrade_to_head, Path("services/notification/migrations"), database_url=database_url)
    settings = NotificationSettings(
        **{
            "database_url": database_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": bootstrap_servers,
            "consumers_enabled": False,
            "delivery_worker_enabled": False,
            "smtp_port": smtp_port,
            "smtp_timeout_seconds": 5,
            **(settings_changes or {}),
        }
    )
    clock = FrozenClock(starts_at)
    app = build_app(settings, clock=clock)
    trust_test_keys(app, settings)
    engine = create_engine(database_url=database_url, schema="notification")
    sessions = create_session_factory(engine)
    await _forget_notifications(sessions)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notification") as client,
        ):
            yield NotificationApp(
                app=app,
                client=client,
                clock=clock,
                settings=settings,
                sessions=sessions,
                metrics=app.state.delivery_metrics,
                bootstrap_servers=bootstrap_servers,
                redis=app.state.resources.redis,
            )
        await _forget_notifications(sessions)
    finally:
        await engine.dispose()


@pytest.fixture
async def notification_app(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> AsyncIterator[NotificationApp]:
    async with running_notification(database_url, redis_url, bootstrap_servers, smtp_sink.port) as running:
        yield running
