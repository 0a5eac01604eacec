"""Admins hear of dead letters through the broker: a message a consumer dead-letters reaches
notification's consumer of every `*.dlq` topic, which tells each admin (in-app and by an email
they cannot switch off) of the topic, the first reason and how to replay, once an hour per
topic however many follow."""

import asyncio
import email
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.dead_letters.consumers import DEAD_LETTERS_CONSUMER
from services.notification.dead_letters.domain import alert_id, alert_window, read_dead_letter
from services.notification.directory.service import admin_recipients, apply_account_changed
from services.notification.inapp.models import InAppNotification
from services.notification.notifications.models import Notification
from services.notification.tests.conftest import NotificationApp, SmtpSink, running_notification
from shared.contracts.identity import AccountChanged
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.envelope import EventEnvelope, dead_letter_topic_for
from shared.events.kafka import ensure_topics
from shared.metrics import AppMetrics

POISON_TYPE = "alerttest.poison"


async def _account(app: NotificationApp, *, roles: list[str]) -> uuid.UUID:
    user_id = uuid.uuid4()
    account = AccountChanged(
        user_id=user_id,
        email=f"{roles[0]}-{user_id.hex[:12]}@example.com",
        name="Ops",
        roles=roles,
        locale="en",
        email_verified=True,
        changed_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    async with app.sessions.begin() as session:
        await apply_account_changed(session, account)
    return user_id


async def _refuse(session: AsyncSession, envelope: EventEnvelope) -> None:
    raise ValueError(f"cannot apply {envelope.type}")


class PoisonedConsumer:
    """A consumer of the platform's kind that dead-letters what it is handed, through the broker."""

    def __init__(self, app: NotificationApp, name: str, dead_letters: AIOKafkaProducer) -> None:
        self._consumer = EventConsumer(
            spec=ConsumerSpec(name=name, topics=("alerttest.events",), handlers={(POISON_TYPE, 1): _refuse}),
            session_factory=app.sessions,
            bootstrap_servers=app.bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=AppMetrics("test").consumer,
            max_attempts=1,
        )
        self._offset = 0

    async def handle(self, value: bytes) -> None:
        self._offset += 1
        await self._consumer.handle_record(
            ConsumerRecord(
                topic="alerttest.events",
                partition=0,
                offset=self._offset,
                timestamp=0,
                timestamp_type=0,
                key=b"poison",
                value=value,
                checksum=None,
                serialized_key_size=6,
                serialized_value_size=len(value),
                headers=(),
            )
        )


@asynccontextmanager
async def _poisoned_consumer(app: NotificationApp, name: str) -> AsyncIterator[PoisonedConsumer]:
    dead_letters = AIOKafkaProducer(bootstrap_servers=app.bootstrap_servers)
    await dead_letters.start()
    try:
        yield PoisonedConsumer(app, name, dead_letters)
    finally:
        await dead_letters.stop()


def _poison_event() -> bytes:
    return EventEnvelope(
        type=POISON_TYPE, version=1, occurred_at=datetime.now(UTC), producer="alerttest", key="k", payload={}
    ).to_bytes()


def _dead_letters_read(app: NotificationApp, topic: str) -> float:
    value = app.app.state.metrics.registry.get_sample_value(
        "events_consumed_total", {"consumer": DEAD_LETTERS_CONSUMER, "type": topic, "outcome": "applied"}
    )
    return float(value or 0)


async def _until_read(app: NotificationApp, topic: str, count: int) -> None:
    async with asyncio.timeout(60):
        while _dead_letters_read(app, topic) < count:
            await asyncio.sleep(0.1)


async def _alerts(app: NotificationApp, topic: str) -> list[Notification]:
    async with app.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Notification).where(
                        Notification.kind == "dead_letters", Notification.facts["topic"].astext == topic
                    )
                )
            ).all()
        )


def _emails_about(smtp_sink: SmtpSink, topic: str) -> list[EmailMessage]:
    return [
        email.message_from_bytes(message["raw"].encode(), _class=EmailMessage, policy=policy.default)
        for message in smtp_sink.store.messages
        if message["subject"] == f"Messages dead-lettered on {topic}"
    ]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def test_each_admin_hears_once_an_hour_of_a_topics_dead_letters_with_the_first_reason_and_how_to_replay(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> None:
    poisoned = f"alerttest-{uuid.uuid4().hex[:8]}"
    topic = dead_letter_topic_for(poisoned)
    # As the poisoned consumer's app would have made it at its start.
    await ensure_topics(bootstrap_servers, [topic], partitions=1, replication_factor=1)
    async with (
        running_notification(
            database_url, redis_url, bootstrap_servers, smtp_sink.port, settings_changes={"consumers_enabled": True}
        ) as app,
        _poisoned_consumer(app, poisoned) as consumer,
    ):
        # The app's own consumers may announce more admins meanwhile (accounts other tests made):
        # each admin is told, whoever they are, so the checks are about these two and the provider.
        admins = {await _account(app, roles=["admin"]) for _ in range(2)}
        provider = await _account(app, roles=["provider"])

        await consumer.handle(b"{not an envelope")
        await _until_read(app, topic, 1)
        alerts = await _alerts(app, topic)
        told = [alert.recipient_user_id for alert in alerts]
        assert len(told) == len(set(told)), "each admin is told once"
        assert admins <= set(told)
        assert provider not in told
        async with app.sessions() as session:
            every_admin = {admin.user_id for admin in await admin_recipients(session)}
        assert set(told) <= every_admin

        # A second dead letter of the topic within the hour, for another reason: nobody hears more.
        app.clock.advance(timedelta(minutes=59))
        await consumer.handle(_poison_event())
        await _until_read(app, topic, 2)
        later = await _alerts(app, topic)
        # Nobody told already hears more. (An admin the directory heard of in between, another
        # test's account announced late, is told for the first time: that is the rule too.)
        assert {alert.id for alert in later if alert.recipient_user_id in told} == {alert.id for alert in alerts}
        alerts, told = later, [alert.recipient_user_id for alert in later]
        assert len(told) == len(set(told)), "each admin is told once"

        while await app.deliver():
            pass
        emails = _emails_about(smtp_sink, topic)
        assert len(emails) == len(told)
        text = _text(emails[0])
        assert "First reason: undecodable envelope" in text
        assert "ValueError" not in text
        assert f"The consumer {poisoned} could not apply a message" in text
        assert "to the topic its original_topic header names" in text
        async with app.sessions() as session:
            shown_to = set(
                (
                    await session.scalars(
                        select(InAppNotification.user_id).where(
                            InAppNotification.notification_id.in_([alert.id for alert in alerts])
                        )
                    )
                ).all()
            )
        assert shown_to == set(told)

        # The next hour's dead letter tells every admin again.
        app.clock.advance(timedelta(minutes=1))
        await consumer.handle(_poison_event())
        await _until_read(app, topic, 3)
        told_again = [alert.recipient_user_id for alert in await _alerts(app, topic)]
        assert all(told_again.count(admin) == 2 for admin in admins)


def test_a_dead_letter_published_by_hand_without_headers_is_still_told() -> None:
    dead_letter = read_dead_letter("booking.saga.dlq", [("attempts", b"not a number")])
    assert dead_letter.consumer == "booking.saga"
    assert dead_letter.original_topic is None
    assert dead_letter.attempts is None
    assert dead_letter.reason == "no reason given (the record has no error header)"


def test_the_alert_of_a_topic_is_one_per_clock_hour_whatever_the_zone_of_the_instant() -> None:
    at = datetime(2031, 5, 4, 9, 59, 59, tzinfo=UTC)
    same_hour_elsewhere = (at - timedelta(minutes=59)).astimezone(ZoneInfo("Asia/Kolkata"))
    assert alert_id("a.dlq", alert_window(at)) == alert_id("a.dlq", alert_window(same_hour_elsewhere))
    assert alert_id("a.dlq", alert_window(at)) != alert_id("a.dlq", alert_window(at + timedelta(seconds=1)))
    assert alert_id("a.dlq", alert_window(at)) != alert_id("b.dlq", alert_window(at))
