"""Webhooks end to end inside booking: subscriptions over HTTP, events through the fan-out
consumer (its inbox in the way), the delivery job sending to a real HTTP endpoint on
127.0.0.1, time moved by the app's frozen clock."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry
from sqlalchemy import delete, func, select

from services.booking.settings import BookingSettings
from services.booking.tests.conftest import BookingApp, running_booking
from services.booking.tests.webhook_receiving import Receiver, verify, webhook_receiver
from services.booking.webhooks.consumers import webhooks_consumer
from services.booking.webhooks.delivery import Sending, WebhookMetrics, deliver_due
from services.booking.webhooks.models import WebhookSubscription
from shared.contracts.booking import BookingConfirmed, BookingCreated, BookingRequestDeclined
from shared.contracts.inventory import HoldReleased, SeatsConfirmed
from shared.contracts.webhooks import WebhookEvent
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.testing import consumer_record, make_identity

# The background job waits this long between looks: the tests send by calling it themselves.
QUIET = {"webhook_delivery_interval_seconds": 3600.0}


@pytest.fixture
async def booking_app(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[BookingApp]:
    async with running_booking(database_url, redis_url, bootstrap_servers, **QUIET) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


class Webhooks:
    """Drives one booking app's webhooks: events in, deliveries out."""

    def __init__(self, app: BookingApp, bootstrap_servers: str, http: httpx.AsyncClient) -> None:
        self.app = app
        self.bootstrap_servers = bootstrap_servers
        self.offset = 0
        self.metrics = WebhookMetrics.register(CollectorRegistry())
        self.sending = Sending(
            http=http,
            clock=app.clock,
            retries=app.settings.webhook_retries(),
            disabling=app.settings.webhook_disabling(),
            allow_private=True,
            timeout_seconds=2,
            metrics=self.metrics,
            secrets_box=app.settings.webhook_secret_box(),
            draw=lambda: 0.0,
        )

    async def start_afresh(self) -> None:
        """No subscription of an earlier test (an admin's gets every event) in the way."""
        async with self.app.sessions() as session, session.begin():
            await session.execute(delete(WebhookSubscription))

    async def subscribe(self, who: Identity, url: str, events: list[str]) -> dict[str, Any]:
        answer = await self.app.client.post(
            "/webhooks/subscriptions", json={"url": url, "events": events}, headers=self.app.as_(who)
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def publish(self, *events: tuple[EventPayload, str, UUID]) -> list[EventEnvelope]:
        envelopes = [
            EventEnvelope.wrap(payload, producer=producer, key=str(key), occurred_at=self.app.clock.now())
            for payload, producer, key in events
        ]
        await self.consume(*envelopes)
        return envelopes

    async def consume(self, *envelopes: EventEnvelope) -> None:
        dead_letters = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers)
        await dead_letters.start()
        consumer = EventConsumer(
            spec=webhooks_consumer(self.app.clock),
            session_factory=self.app.sessions,
            bootstrap_servers=self.bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=AppMetrics("test").consumer,
            max_attempts=1,
        )
        try:
            for envelope in envelopes:
                self.offset += 1
                await consumer.handle_record(consumer_record(envelope, self.offset))
        finally:
            await dead_letters.stop()

    async def deliver(self, sending: Sending | None = None) -> int:
        """Run the delivery job until nothing is due now; the number of requests made."""
        total = 0
        while sent := await deliver_due(self.app.sessions, sending=sending or self.sending):
            total += sent
        return total

    def outcomes(self, outcome: str) -> float:
        value: float = self.metrics.deliveries.labels(outcome=outcome)._value.get()
        return value


@pytest.fixture
async def webhooks(booking_app: BookingApp, bootstrap_servers: str) -> AsyncIterator[Webhooks]:
    async with httpx.AsyncClient() as http:
        driving = Webhooks(booking_app, bootstrap_servers, http)
        await driving.start_afresh()
        yield driving


def created(booking_id: UUID, provider: Identity, *, listing_id: UUID | None = None) -> tuple[EventPayload, str, UUID]:
    return (
        BookingCreated(
            booking_id=booking_id,
            reference="TRV-2031-ABCDEF",
            traveler_id=uuid.uuid4(),
            provider_id=provider.user_id,
            listing_id=listing_id or uuid.uuid4(),
            slot_id=uuid.uuid4(),
            hold_id=uuid.uuid4(),
            seats=2,
            total=Decimal("88.00"),
            currency="EUR",
        ),
        "booking",
        booking_id,
    )


def confirmed(booking_id: UUID, provider: Identity, app: BookingApp) -> tuple[EventPayload, str, UUID]:
    starts_at = app.clock.now() + timedelta(days=3)
    return (
        BookingConfirmed(
            booking_id=booking_id,
            reference="TRV-2031-ABCDEF",
            traveler_id=uuid.uuid4(),
            provider_id=provider.user_id,
            listing_id=uuid.uuid4(),
            listing_title="Sunset kayak tour",
            category="tour",
            slot_id=uuid.uuid4(),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            timezone="Europe/Lisbon",
            seats=2,
            total=Decimal("88.00"),
            platform_fee=Decimal("8.80"),
            currency="EUR",
            contact_name="Ana",
            contact_email="ana@example.com",
            confirmed_at=app.clock.now(),
        ),
        "booking",
        booking_id,
    )


def body_of(received: bytes) -> WebhookEvent:
    return WebhookEvent.model_validate_json(received)


async def test_a_provider_gets_each_change_of_their_own_bookings_signed_and_an_admin_gets_everyones(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    async with webhook_receiver("/other") as others, webhook_receiver("/ops") as ops:
        provider, other, admin = make_identity("provider"), make_identity("provider"), make_identity("admin")
        mine = await webhooks.subscribe(provider, receiver.url, ["booking.created", "booking.confirmed"])
        await webhooks.subscribe(other, others.url, ["booking.confirmed"])
        await webhooks.subscribe(admin, ops.url, ["booking.created"])
        booking_id, someone_elses = uuid.uuid4(), uuid.uuid4()

        sent = await webhooks.publish(
            created(booking_id, provider),
            confirmed(booking_id, provider, webhooks.app),
            created(someone_elses, other),
        )
        await webhooks.deliver()

        assert [one.webhook_id for one in receiver.received] == [str(sent[0].event_id), str(sent[1].event_id)]
        for one, envelope in zip(receiver.received, sent, strict=False):
            assert verify(mine["secret"], one.signature, one.body, now=webhooks.app.clock.now().timestamp())
            event = body_of(one.body)
            assert (event.id, event.version, event.created_at) == (envelope.event_id, 1, envelope.occurred_at)
            assert event.data["booking_id"] == str(booking_id)
        assert [body_of(one.body).type for one in receiver.received] == ["booking.created", "booking.confirmed"]
        # The other provider subscribed to confirmations only, and theirs was not confirmed.
        assert others.received == []
        assert [UUID(one.webhook_id) for one in ops.received] == [sent[0].event_id, sent[2].event_id]
        assert not verify(mine["secret"], ops.received[0].signature, ops.received[0].body)


async def test_the_secret_is_shown_once_kept_encrypted_and_listed_without_it(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    provider = make_identity("provider")
    created_one = await webhooks.subscribe(provider, receiver.url, ["booking.cancelled"])
    assert created_one["secret"].startswith("whsec_")

    listed = await webhooks.app.client.get("/webhooks/subscriptions", headers=webhooks.app.as_(provider))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created_one["id"]]
    assert "secret" not in listed.text
    assert created_one["secret"] not in listed.text
    async with webhooks.app.sessions() as session:
        stored = await session.get(WebhookSubscription, UUID(created_one["id"]))
    assert stored is not None
    assert created_one["secret"] not in stored.sealed_secret
    assert webhooks.app.settings.webhook_secret_box().open(stored.sealed_secret) == created_one["secret"]


async def test_an_event_the_broker_hands_over_twice_is_delivered_once(webhooks: Webhooks, receiver: Receiver) -> None:
    provider = make_identity("provider")
    await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    [envelope] = await webhooks.publish(created(uuid.uuid4(), provider))
    await webhooks.consume(envelope)
    await webhooks.deliver()
    await webhooks.consume(envelope)
    await webhooks.deliver()

    assert [one.webhook_id for one in receiver.received] == [str(envelope.event_id)]


async def test_events_wait_while_the_receiver_is_down_then_arrive_once_each_in_order_per_booking(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    provider = make_identity("provider")
    await webhooks.subscribe(provider, receiver.url, ["booking.created", "booking.confirmed"])
    first, second = uuid.uuid4(), uuid.uuid4()
    receiver.status = 503
    sent = await webhooks.publish(
        created(first, provider), confirmed(first, provider, webhooks.app), created(second, provider)
    )

    # Down for two hours: tried again and again, never the confirmation before its creation.
    for _ in range(8):
        await webhooks.deliver()
        webhooks.app.clock.advance(timedelta(minutes=15))
    down = {one.webhook_id for one in receiver.received}
    assert down == {str(sent[0].event_id), str(sent[2].event_id)}
    assert len(receiver.received) > 4

    receiver.status = 200
    for _ in range(4):
        webhooks.app.clock.advance(timedelta(hours=2))
        await webhooks.deliver()

    accepted = [one.webhook_id for one in receiver.accepted()]
    assert sorted(accepted) == sorted(str(envelope.event_id) for envelope in sent)
    assert accepted.index(str(sent[0].event_id)) < accepted.index(str(sent[1].event_id))
    assert webhooks.outcomes("delivered") == 3
    assert webhooks.outcomes("retrying") == len(receiver.received) - 3


async def test_two_delivery_workers_at_once_send_each_event_once(webhooks: Webhooks, receiver: Receiver) -> None:
    provider = make_identity("provider")
    await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    sent = await webhooks.publish(*(created(uuid.uuid4(), provider) for _ in range(12)))

    await asyncio.gather(webhooks.deliver(), webhooks.deliver())

    assert sorted(one.webhook_id for one in receiver.received) == sorted(str(event.event_id) for event in sent)
    assert webhooks.outcomes("delivered") == 12


async def test_the_apps_metrics_count_deliveries_by_outcome(booking_app: BookingApp) -> None:
    metrics = await booking_app.client.get("/metrics")
    assert "# TYPE webhook_delivery_attempts_total counter" in metrics.text


async def test_the_delivery_log_shows_attempts_answers_and_the_next_try(webhooks: Webhooks, receiver: Receiver) -> None:
    provider = make_identity("provider")
    subscription = await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    receiver.status = 500
    [envelope] = await webhooks.publish(created(uuid.uuid4(), provider))
    await webhooks.deliver()

    log = await webhooks.app.client.get(
        f"/webhooks/subscriptions/{subscription['id']}/deliveries", headers=webhooks.app.as_(provider)
    )
    assert log.status_code == 200
    [delivery] = log.json()["items"]
    assert delivery["event_id"] == str(envelope.event_id)
    assert delivery["kind"] == "booking.created"
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("pending", 1, 500)
    assert delivery["last_error"] == "answered 500"
    assert delivery["next_attempt_at"] is not None
    assert delivery["delivered_at"] is None

    someone = make_identity("provider")
    theirs = await webhooks.app.client.get(
        f"/webhooks/subscriptions/{subscription['id']}/deliveries", headers=webhooks.app.as_(someone)
    )
    assert theirs.status_code == 404


async def test_the_owner_redelivers_an_event_under_its_id_and_nobody_else_can(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    provider = make_identity("provider")
    subscription = await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    [envelope] = await webhooks.publish(created(uuid.uuid4(), provider))
    await webhooks.deliver()
    log = await webhooks.app.client.get(
        f"/webhooks/subscriptions/{subscription['id']}/deliveries", headers=webhooks.app.as_(provider)
    )
    delivery_id = log.json()["items"][0]["id"]

    someone = make_identity("provider")
    refused = await webhooks.app.client.post(
        f"/webhooks/deliveries/{delivery_id}/redeliver", headers=webhooks.app.as_(someone)
    )
    assert refused.status_code == 404
    assert refused.json()["error_code"] == "NOT_FOUND"
    again = await webhooks.app.client.post(
        f"/webhooks/deliveries/{delivery_id}/redeliver", headers=webhooks.app.as_(provider)
    )
    assert again.status_code == 202
    await webhooks.deliver()

    assert [one.webhook_id for one in receiver.accepted()] == [str(envelope.event_id)] * 2


async def test_a_deleted_subscription_is_sent_nothing_more(webhooks: Webhooks, receiver: Receiver) -> None:
    provider = make_identity("provider")
    subscription = await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    other = make_identity("provider")
    assert (
        await webhooks.app.client.delete(
            f"/webhooks/subscriptions/{subscription['id']}", headers=webhooks.app.as_(other)
        )
    ).status_code == 404
    gone = await webhooks.app.client.delete(
        f"/webhooks/subscriptions/{subscription['id']}", headers=webhooks.app.as_(provider)
    )
    assert gone.status_code == 204
    await webhooks.publish(created(uuid.uuid4(), provider))
    await webhooks.deliver()

    assert receiver.received == []


async def test_availability_and_request_answers_reach_the_provider_booking_knows_them_by(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    provider, traveler = make_identity("provider"), make_identity("traveler")
    await webhooks.subscribe(provider, receiver.url, ["availability.changed", "request.answered"])
    booking = await webhooks.app.add_booking(traveler=traveler, provider=provider, starts_in=timedelta(days=4))
    async with webhook_receiver("/ops") as ops:
        await webhooks.subscribe(make_identity("admin"), ops.url, ["availability.changed"])
        seats = SeatsConfirmed(
            booking_id=booking.id,
            hold_id=booking.hold_id,
            slot_id=booking.slot_id,
            listing_id=booking.listing_id,
            seats=2,
            late=False,
        )
        # A listing booking has never heard of: its provider cannot be told, admins are.
        unknown = HoldReleased(hold_id=uuid.uuid4(), slot_id=uuid.uuid4(), listing_id=uuid.uuid4(), seats=1)
        declined = BookingRequestDeclined(
            request_id=uuid.uuid4(),
            traveler_id=traveler.user_id,
            provider_id=provider.user_id,
            provider_email=provider.email,
            listing_id=booking.listing_id,
            listing_title="Sunset kayak tour",
            slot_id=booking.slot_id,
            starts_at=booking.starts_at,
            timezone="Europe/Lisbon",
            seats=2,
            contact_name="Ana",
            contact_email="ana@example.com",
            requested_at=webhooks.app.clock.now(),
            reason="Fully booked",
            alternatives=[],
            currency="EUR",
            responded_at=webhooks.app.clock.now(),
        )
        await webhooks.publish(
            (seats, "inventory", booking.slot_id),
            (unknown, "inventory", unknown.slot_id),
            (declined, "booking", declined.request_id),
        )
        await webhooks.deliver()

        events = [body_of(one.body) for one in receiver.received]
        assert [(event.type, event.data.get("change") or event.data.get("answer")) for event in events] == [
            ("availability.changed", "seats_confirmed"),
            ("request.answered", "declined"),
        ]
        assert [body_of(one.body).data["change"] for one in ops.received] == ["seats_confirmed", "hold_released"]


async def test_hostile_input_gets_the_error_body_and_stores_nothing(webhooks: Webhooks, receiver: Receiver) -> None:
    provider = make_identity("provider")
    bodies: list[dict[str, Any]] = [
        {"url": "ftp://example.com/hook", "events": ["booking.created"]},
        {"url": "https://user:secret@example.com/hook", "events": ["booking.created"]},
        {"url": "not a url", "events": ["booking.created"]},
        {"url": receiver.url, "events": ["booking.exploded"]},
        {"url": receiver.url, "events": []},
        {"url": receiver.url, "events": ["booking.created"], "secret": "mine"},
    ]
    for body in bodies:
        answer = await webhooks.app.client.post(
            "/webhooks/subscriptions", json=body, headers=webhooks.app.as_(provider)
        )
        assert answer.status_code == 422, body
        problem = answer.json()
        assert problem["error_code"] == "VALIDATION_ERROR"
        assert answer.headers["content-type"] == "application/problem+json"
        assert {"status", "error", "message", "details", "timestamp", "request_id"} <= problem.keys()
    traveler = await webhooks.app.client.post(
        "/webhooks/subscriptions",
        json={"url": receiver.url, "events": ["booking.created"]},
        headers=webhooks.app.as_(make_identity("traveler")),
    )
    assert traveler.status_code == 403

    async with webhooks.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


async def _failing_until_disabled(webhooks: Webhooks, receiver: Receiver, provider: Identity) -> dict[str, Any]:
    subscription = await webhooks.subscribe(provider, receiver.url, ["booking.created"])
    receiver.status = 500
    await webhooks.publish(created(uuid.uuid4(), provider), created(uuid.uuid4(), provider))
    for _ in range(30):
        await webhooks.deliver()
        webhooks.app.clock.advance(timedelta(hours=1))
    return subscription


async def test_a_subscription_that_keeps_failing_is_disabled_and_its_owner_told(
    database_url: str, redis_url: str, bootstrap_servers: str, receiver: Receiver
) -> None:
    async with (
        running_booking(
            database_url, redis_url, bootstrap_servers, webhook_disable_after_failed_deliveries=2, **QUIET
        ) as app,
        httpx.AsyncClient() as http,
    ):
        webhooks = Webhooks(app, bootstrap_servers, http)
        await webhooks.start_afresh()
        provider = make_identity("provider")
        subscription = await _failing_until_disabled(webhooks, receiver, provider)

        async with app.sessions() as session:
            stored = await session.get(WebhookSubscription, UUID(subscription["id"]))
            assert stored is not None
            assert (stored.status, stored.failed_deliveries) == ("disabled", 2)
            told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.key == subscription["id"]))).all()
        assert [row.event_type for row in told] == ["webhook.subscription_disabled"]
        assert told[0].envelope["payload"]["owner_id"] == str(provider.user_id)
        assert webhooks.outcomes("failed") == 2

        # Disabled: nothing new is recorded or sent.
        tried = len(receiver.received)
        await webhooks.publish(created(uuid.uuid4(), provider))
        await webhooks.deliver()
        assert len(receiver.received) == tried

        # A redelivery resumes it.
        receiver.status = 200
        log = await app.client.get(
            f"/webhooks/subscriptions/{subscription['id']}/deliveries", headers=app.as_(provider)
        )
        assert {item["status"] for item in log.json()["items"]} == {"failed"}
        await app.client.post(
            f"/webhooks/deliveries/{log.json()['items'][0]['id']}/redeliver", headers=app.as_(provider)
        )
        await webhooks.deliver()
        assert len(receiver.accepted()) == 1
        listed = await app.client.get("/webhooks/subscriptions", headers=app.as_(provider))
        assert listed.json()["items"][0]["status"] == "active"


async def test_private_targets_are_refused_on_subscribing_and_before_each_send_in_production(
    database_url: str, redis_url: str, bootstrap_servers: str, receiver: Receiver
) -> None:
    async with (
        running_booking(
            database_url, redis_url, bootstrap_servers, webhooks_allow_private_targets=False, **QUIET
        ) as app,
        httpx.AsyncClient() as http,
    ):
        webhooks = Webhooks(app, bootstrap_servers, http)
        await webhooks.start_afresh()
        provider = make_identity("provider")
        for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost"), "http://169.254.169.254/latest"):
            refused = await app.client.post(
                "/webhooks/subscriptions",
                json={"url": url, "events": ["booking.created"]},
                headers=app.as_(provider),
            )
            assert refused.status_code == 422, url
            assert refused.json()["details"]["fields"][0]["field"] == "body.url"
        async with app.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0

        # A public address when subscribed; by the time of sending its name points inside.
        subscription = await webhooks.subscribe(provider, "http://93.184.216.34/hook", ["booking.created"])

        async def rebound(_host: str) -> list[str]:
            return ["10.0.0.7"]

        await webhooks.publish(created(uuid.uuid4(), provider))
        inside = Sending(**{**webhooks.sending.__dict__, "allow_private": False, "resolve": rebound})
        await webhooks.deliver(inside)
        log = await app.client.get(
            f"/webhooks/subscriptions/{subscription['id']}/deliveries", headers=app.as_(provider)
        )
        [delivery] = log.json()["items"]
        assert delivery["last_status_code"] is None
        assert delivery["last_error"].startswith("target refused: the host resolves to a non-public address")


def test_private_targets_are_allowed_in_development_and_refused_in_production() -> None:
    assert BookingSettings(environment="development").allows_private_webhook_targets()
    assert not BookingSettings(environment="production").allows_private_webhook_targets()
    assert not BookingSettings(
        environment="test", webhooks_allow_private_targets=False
    ).allows_private_webhook_targets()
