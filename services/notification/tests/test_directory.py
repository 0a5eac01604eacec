"""The directory of accounts, kept from the gateway's identity.account_changed through the
identity events consumer: any account is reached by its id, in its owner's locale; the newest
announcement wins whatever order they arrive in, and a repeat changes nothing."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.notification.directory.models import KnownAccount
from services.notification.directory.service import admin_recipients, recipient_for
from services.notification.notifications.consumers import identity_events_consumer
from services.notification.notifications.domain import Recipient
from services.notification.tests.conftest import NotificationApp
from shared.contracts.identity import AccountChanged
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.metrics import AppMetrics
from shared.testing import consumer_record

CHANGED_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class IdentityEvents:
    """The identity events consumer, handed messages as Kafka would: the inbox in the way."""

    def __init__(self, app: NotificationApp, dead_letters: AIOKafkaProducer) -> None:
        self._consumer = EventConsumer(
            spec=identity_events_consumer(app.settings, app.clock, app.redis),
            session_factory=app.sessions,
            bootstrap_servers=app.bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=AppMetrics("test").consumer,
            max_attempts=1,
        )
        self._offset = 0

    async def consume(self, *envelopes: EventEnvelope) -> None:
        for envelope in envelopes:
            self._offset += 1
            await self._consumer.handle_record(consumer_record(envelope, self._offset))


@pytest.fixture
async def identity_events(notification_app: NotificationApp) -> AsyncIterator[IdentityEvents]:
    dead_letters = AIOKafkaProducer(bootstrap_servers=notification_app.bootstrap_servers)
    await dead_letters.start()
    try:
        yield IdentityEvents(notification_app, dead_letters)
    finally:
        await dead_letters.stop()


def account_changed(user_id: uuid.UUID | None = None, **facts: Any) -> EventEnvelope:
    user_id = user_id or uuid.uuid4()
    event = AccountChanged(
        **{
            "user_id": user_id,
            "email": f"user-{user_id.hex[:12]}@example.com",
            "name": "Ana",
            "roles": ["traveler"],
            "locale": "en",
            "email_verified": False,
            "changed_at": CHANGED_AT,
        }
        | facts
    )
    return EventEnvelope.wrap(event, producer="gateway", key=str(event.user_id))


async def _recipient(app: NotificationApp, user_id: uuid.UUID) -> Recipient | None:
    async with app.sessions() as session:
        return await recipient_for(session, user_id)


async def _known(app: NotificationApp, user_id: uuid.UUID) -> KnownAccount | None:
    async with app.sessions() as session:
        return await session.get(KnownAccount, user_id)


async def test_an_announced_account_is_reached_by_its_id_in_its_locale(
    notification_app: NotificationApp, identity_events: IdentityEvents
) -> None:
    user_id = uuid.uuid4()
    await identity_events.consume(
        account_changed(user_id, email="lisbon-local@example.com", roles=["provider"], locale="pt-PT")
    )

    assert await _recipient(notification_app, user_id) == Recipient(
        email="lisbon-local@example.com", user_id=user_id, locale="pt-PT"
    )
    # Nothing is sent for it: the directory only learns who the account is.
    assert not [n for n in await notification_app.notifications() if n.subject_id == user_id]


async def test_an_account_never_announced_has_no_recipient(notification_app: NotificationApp) -> None:
    assert await _recipient(notification_app, uuid.uuid4()) is None


async def test_a_newer_announcement_replaces_the_older(
    notification_app: NotificationApp, identity_events: IdentityEvents
) -> None:
    user_id = uuid.uuid4()
    await identity_events.consume(
        account_changed(user_id),
        account_changed(
            user_id,
            email="renamed@example.com",
            name="Ana Lobo",
            roles=["traveler", "expert"],
            locale="fr",
            email_verified=True,
            changed_at=CHANGED_AT + timedelta(seconds=1),
        ),
    )

    known = await _known(notification_app, user_id)
    assert known is not None
    assert (known.email, known.name, known.roles, known.locale, known.email_verified, known.changed_at) == (
        "renamed@example.com",
        "Ana Lobo",
        ["traveler", "expert"],
        "fr",
        True,
        CHANGED_AT + timedelta(seconds=1),
    )


@pytest.mark.parametrize("behind", [timedelta(microseconds=1), timedelta(days=3)])
async def test_an_announcement_older_than_the_one_known_changes_nothing(
    notification_app: NotificationApp, identity_events: IdentityEvents, behind: timedelta
) -> None:
    user_id = uuid.uuid4()
    await identity_events.consume(
        account_changed(user_id, locale="de", email_verified=True),
        account_changed(user_id, locale="en", email_verified=False, changed_at=CHANGED_AT - behind),
    )

    known = await _known(notification_app, user_id)
    assert known is not None
    assert (known.locale, known.email_verified, known.changed_at) == ("de", True, CHANGED_AT)


async def test_a_repeated_announcement_changes_nothing(
    notification_app: NotificationApp, identity_events: IdentityEvents
) -> None:
    user_id = uuid.uuid4()
    first = account_changed(user_id, locale="es")
    # Redelivered as is, then announced again as it was (the gateway republishing its accounts).
    await identity_events.consume(first, first, account_changed(user_id, locale="es"))

    async with notification_app.sessions() as session:
        known = await session.get(KnownAccount, user_id)
        assert known is not None
        assert (known.locale, known.changed_at) == ("es", CHANGED_AT)
    assert await _recipient(notification_app, user_id) == Recipient(
        email=f"user-{user_id.hex[:12]}@example.com", user_id=user_id, locale="es"
    )


async def test_every_admin_and_only_admins_are_the_admin_recipients(
    notification_app: NotificationApp, identity_events: IdentityEvents
) -> None:
    tag = uuid.uuid4().hex[:8]
    admin_b, admin_a, demoted, provider = (uuid.uuid4() for _ in range(4))
    await identity_events.consume(
        account_changed(admin_b, email=f"b-{tag}@example.com", roles=["admin"]),
        account_changed(admin_a, email=f"a-{tag}@example.com", roles=["traveler", "admin"], locale="pt-PT"),
        account_changed(demoted, email=f"c-{tag}@example.com", roles=["admin"]),
        account_changed(demoted, roles=["provider"], changed_at=CHANGED_AT + timedelta(minutes=1)),
        account_changed(provider, email=f"d-{tag}@example.com", roles=["provider"]),
    )

    async with notification_app.sessions() as session:
        admins = await admin_recipients(session)
    # Other tests' admins share the database: these are among them, in email order.
    mine = [admin for admin in admins if admin.email.endswith(f"-{tag}@example.com")]
    assert mine == [
        Recipient(email=f"a-{tag}@example.com", user_id=admin_a, locale="pt-PT"),
        Recipient(email=f"b-{tag}@example.com", user_id=admin_b, locale="en"),
    ]
    assert [admin.email for admin in admins] == sorted(admin.email for admin in admins)
