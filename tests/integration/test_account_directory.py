"""Accounts made at the gateway become known to notification: the gateway's outbox relay
publishes identity.account_changed to the broker, and notification's identity events consumer
(its directory entry, as deployed) keeps the account, reachable by its id in its locale. An
account from before the event is made known by an admin republishing the accounts."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
from aiokafka import AIOKafkaProducer

from devstack.infra import free_port
from gateway.identity.models import UserAccount
from gateway.tests.gateways import PASSWORD, Gateway, bearer, new_email, running_gateway
from services.notification.directory.models import KnownAccount
from services.notification.directory.service import recipient_for
from services.notification.notifications.consumers import identity_events_consumer
from services.notification.notifications.domain import Recipient
from services.notification.tests.conftest import NotificationApp, SmtpSink, running_notification
from shared.app import AppResources
from shared.contracts.identity import AccountChanged
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.metrics import AppMetrics

T = TypeVar("T")


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
async def notification_app(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> AsyncIterator[NotificationApp]:
    """Notification, its identity events consumer reading the broker: only the directory's
    entry of it, so the account emails of the gateway's other events are not recorded here."""
    async with running_notification(database_url, redis_url, bootstrap_servers, smtp_sink.port) as running:
        spec = identity_events_consumer(running.settings, running.clock, running.redis)
        directory_key = (AccountChanged.event_type, AccountChanged.event_version)
        dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
        await dead_letters.start()
        consumer = EventConsumer(
            spec=ConsumerSpec(spec.name, spec.topics, {directory_key: spec.handlers[directory_key]}),
            session_factory=running.sessions,
            bootstrap_servers=bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=AppMetrics("test").consumer,
            group_id=f"test-directory-{uuid.uuid4().hex[:8]}",
        )
        consuming = asyncio.create_task(consumer.run())
        try:
            yield running
        finally:
            consuming.cancel()
            await asyncio.gather(consuming, return_exceptions=True)
            await dead_letters.stop()


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    async with running_gateway(database_url, redis_url, bootstrap_servers) as running:
        yield running


async def _eventually(read: Callable[[], Awaitable[T]], holds: Callable[[T], bool], *, seconds: float = 30) -> T:
    """What `read` gives once `holds` says it is there: the event travels through the broker."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await read()
        if holds(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_an_account_registered_at_the_gateway_is_known_to_notification_in_its_locale(
    gateway: Gateway, notification_app: NotificationApp
) -> None:
    email = new_email()
    registered = await gateway.client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Lisbon Local", "role": "provider", "locale": "pt-PT"},
    )
    assert registered.status_code == 202, registered.text
    me = (await gateway.me(bearer((await gateway.tokens(email))["access_token"]))).json()
    user_id = uuid.UUID(me["id"])

    async def recipient() -> Recipient | None:
        async with notification_app.sessions() as session:
            return await recipient_for(session, user_id)

    assert await _eventually(recipient, lambda found: found is not None) == Recipient(
        email=email, user_id=user_id, locale="pt-PT"
    )

    # Verifying the email is announced too, and is what notification then knows.
    token = await gateway.emailed_token(email, "identity.email_verification_requested")
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200

    async def known() -> KnownAccount | None:
        async with notification_app.sessions() as session:
            return await session.get(KnownAccount, user_id)

    account = await _eventually(known, lambda found: found is not None and found.email_verified)
    assert account is not None
    assert (account.email_verified, account.roles, account.name) == (True, ["provider"], "Lisbon Local")


async def test_an_account_from_before_the_event_is_known_once_an_admin_republishes_the_accounts(
    gateway: Gateway, notification_app: NotificationApp
) -> None:
    # Written as the gateway wrote accounts before it announced them: no event at all.
    resources: AppResources = gateway.app.state.resources
    older = UserAccount(
        id=uuid.uuid4(), email=new_email(), name="Old Expert", password_hash="!", roles=["expert"], locale="it"
    )
    async with resources.session_factory() as session:
        session.add(older)
        await session.commit()

    answer = await gateway.client.post("/api/v1/auth/accounts/republish", headers=await gateway.admin())
    assert answer.status_code == 200, answer.text

    async def recipient() -> Recipient | None:
        async with notification_app.sessions() as session:
            return await recipient_for(session, older.id)

    assert await _eventually(recipient, lambda found: found is not None) == Recipient(
        email=older.email, user_id=older.id, locale="it"
    )
