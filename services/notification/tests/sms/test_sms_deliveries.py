"""SMS as a channel of the notification model, against the real sink process and database: a
booking confirmed with a phone is told by email and SMS, the SMS sent once; without a phone, or
with one that is not a number, by email alone; a cancellation is told by SMS with its refund;
a failing provider is retried until the SMS goes once; an attempt that timed out or a worker
that died after the provider took the message is found by the next attempt and not sent
again; a number the provider refuses is dead at once; an `undelivered` status callback makes
the delivery dead."""

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from services.notification.email.sender import SmtpSender
from services.notification.notifications.models import Delivery
from services.notification.notifications.service import claim_due_deliveries, deliver_due
from services.notification.sms.channel import SmsChannel
from services.notification.sms.sender import SmsSender
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed, running_notification
from services.notification.tests.sms.conftest import STATUS_PATH
from shared.contracts.booking import BookingCancelled, BookingConfirmed
from shared.events.envelope import EventEnvelope

# Shorter than the sink's injected delay in the timeout test, far longer than it takes to answer.
TWILIO_TIMEOUT_SECONDS = 0.5


@dataclass
class SmsApp:
    """A notification app on a frozen clock whose worker the test drives, SMS going to the sink."""

    app: NotificationApp
    sms: SmsSender
    sink: httpx.AsyncClient
    rng: random.Random = field(default_factory=lambda: random.Random(15))

    async def deliver(self) -> int:
        settings = self.app.settings
        return await deliver_due(
            self.app.sessions,
            senders={"email": SmtpSender(settings), "sms": SmsChannel(self.sms)},
            clock=self.app.clock,
            policy=settings.delivery_policy(),
            metrics=self.app.metrics,
            rng=self.rng,
        )

    async def sms_delivery(self) -> Delivery:
        [delivery] = [delivery for delivery in await self.app.deliveries() if delivery.channel == "sms"]
        return delivery

    async def at_sink(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.sink.get("/messages")).json()["items"]
        return items

    async def sent_on_at_sink(self) -> dict[str, Any]:
        """The one message at the sink, once the sink has sent it on (its `date_sent` set)."""
        for _ in range(100):
            messages = await self.at_sink()
            if messages and messages[0]["date_sent"] is not None:
                [message] = messages
                return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no message sent on at the sink: {messages}")


@pytest.fixture
async def sms_app(
    database_url: str,
    redis_url: str,
    bootstrap_servers: str,
    smtp_sink: SmtpSink,
    twilio_sink_url: str,
    sink: httpx.AsyncClient,
) -> AsyncIterator[SmsApp]:
    async with (
        running_notification(
            database_url,
            redis_url,
            bootstrap_servers,
            smtp_sink.port,
            # The sink dates messages by the real time: the frozen clock starts there.
            starts_at=datetime.now(UTC),
            settings_changes={"twilio_api_base": twilio_sink_url, "twilio_timeout_seconds": TWILIO_TIMEOUT_SECONDS},
        ) as running,
        SmsSender(running.settings) as sms,
    ):
        yield SmsApp(app=running, sms=sms, sink=sink)


def confirmed_with_phone(phone: str | None, *, title: str = "Sunset kayak tour") -> EventEnvelope:
    booking = BookingConfirmed.model_validate({**booking_confirmed(title=title).payload, "contact_phone": phone})
    return EventEnvelope.wrap(booking, producer="booking", key=str(booking.booking_id))


async def _deliver_until_settled(sms_app: SmsApp) -> None:
    """Worker rounds, the clock moved to each retry, until nothing is left to send."""
    for _ in range(20):
        deliveries = await sms_app.app.deliveries()
        due = [delivery.next_attempt_at for delivery in deliveries if delivery.next_attempt_at is not None]
        if not due:
            return
        sms_app.app.clock.advance(max(min(due) - sms_app.app.clock.now(), timedelta(0)))
        await sms_app.deliver()
    raise AssertionError("the deliveries never settled")


async def test_a_booking_confirmed_with_a_phone_is_told_by_email_and_by_one_sms(
    sms_app: SmsApp, smtp_sink: SmtpSink
) -> None:
    confirmed = confirmed_with_phone("912 345 678")
    await sms_app.app.consume(confirmed, confirmed)

    deliveries = await sms_app.app.deliveries()
    assert sorted((delivery.channel, delivery.state) for delivery in deliveries) == [
        ("email", "pending"),
        ("sms", "pending"),
    ]
    assert await sms_app.deliver() == 2
    sms_app.app.clock.advance(timedelta(days=1))
    assert await sms_app.deliver() == 0

    [message] = await sms_app.at_sink()
    assert message["to"] == "+351912345678"
    assert message["body"].startswith(f"Booking {confirmed.payload['reference']} confirmed: Sunset kayak tour, ")
    assert "(Europe/Lisbon)" in message["body"]
    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts, delivery.address) == ("sent", 1, "+351912345678")
    assert delivery.provider_message_id == message["sid"]
    assert len(smtp_sink.store.messages) == 1


async def test_a_cancelled_booking_with_a_phone_is_told_by_sms_with_its_refund(sms_app: SmsApp) -> None:
    confirmed = booking_confirmed().payload
    cancelled = BookingCancelled.model_validate(
        {
            **confirmed,
            "cancelled_by": "provider",
            "reason": "storm warning",
            "was_confirmed": True,
            "was_paid": True,
            "refund": "88.00",
            "credit": "0",
            "cancelled_at": confirmed["confirmed_at"],
            "contact_phone": "+351 912 345 678",
        }
    )
    await sms_app.app.consume(EventEnvelope.wrap(cancelled, producer="booking", key=str(cancelled.booking_id)))

    assert await sms_app.deliver() == 2

    [message] = await sms_app.at_sink()
    assert message["to"] == "+351912345678"
    assert message["body"].startswith(f"Booking {cancelled.reference} cancelled: Sunset kayak tour, ")
    assert "88.00 EUR goes back to your card." in message["body"]


@pytest.mark.parametrize("phone", [None, "", "not a phone", "+351 912"])
async def test_without_a_phone_that_is_a_number_only_the_email_goes(
    sms_app: SmsApp, smtp_sink: SmtpSink, phone: str | None
) -> None:
    await sms_app.app.consume(confirmed_with_phone(phone))

    [delivery] = await sms_app.app.deliveries()
    assert delivery.channel == "email"
    assert await sms_app.deliver() == 1
    assert len(smtp_sink.store.messages) == 1
    assert await sms_app.at_sink() == []


async def test_any_title_makes_an_sms_the_provider_takes(sms_app: SmsApp) -> None:
    title = "Olá 🧳\nAlfama\r\n\x07walk " + "مرحبا " * 400
    await sms_app.app.consume(confirmed_with_phone("+351912345678", title=title))

    await _deliver_until_settled(sms_app)

    [message] = await sms_app.at_sink()
    assert "\x07" not in message["body"]
    assert "Olá 🧳 Alfama walk" in message["body"]
    assert len(message["body"]) < 200
    assert (await sms_app.sms_delivery()).state == "sent"


async def test_a_provider_failing_for_a_while_gets_the_sms_exactly_once_when_it_recovers(sms_app: SmsApp) -> None:
    await sms_app.sink.post("/faults", json={"status": 500, "times": 4})
    await sms_app.app.consume(confirmed_with_phone("+351912345678"))

    await _deliver_until_settled(sms_app)

    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts) == ("sent", 5)
    [message] = await sms_app.at_sink()
    assert delivery.provider_message_id == message["sid"]
    assert (await sms_app.sink.get("/faults")).json()["faults"] == []


async def test_an_attempt_that_timed_out_after_the_provider_took_the_sms_is_found_not_sent_again(
    sms_app: SmsApp,
) -> None:
    await sms_app.sink.post("/faults", json={"delay_seconds": TWILIO_TIMEOUT_SECONDS * 3, "times": 1})
    await sms_app.app.consume(confirmed_with_phone("+351912345678"))

    await sms_app.deliver()
    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts) == ("failed_retrying", 1)
    taken = await sms_app.sent_on_at_sink()

    await _deliver_until_settled(sms_app)

    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert delivery.provider_message_id == taken["sid"]
    assert [message["sid"] for message in await sms_app.at_sink()] == [taken["sid"]]


async def test_a_worker_dying_after_the_provider_took_the_sms_leaves_no_second_one(sms_app: SmsApp) -> None:
    await sms_app.app.consume(confirmed_with_phone("+351912345678"))
    policy = sms_app.app.settings.delivery_policy()
    claims = await claim_due_deliveries(sms_app.app.sessions, now=sms_app.app.clock.now(), lease=policy.lease, limit=10)
    [claim] = [claim for claim in claims if claim.message.channel == "sms"]
    # The worker hands the SMS over and dies before recording it.
    sid = await SmsChannel(sms_app.sms).send(claim.message)
    await sms_app.sent_on_at_sink()

    sms_app.app.clock.advance(policy.lease)
    await _deliver_until_settled(sms_app)

    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts, delivery.provider_message_id) == ("sent", 2, sid)
    assert [message["sid"] for message in await sms_app.at_sink()] == [sid]


async def test_a_number_the_provider_refuses_is_dead_at_once_and_counted(sms_app: SmsApp) -> None:
    # Twilio's magic number for "not a valid phone number" (21211).
    await sms_app.app.consume(confirmed_with_phone("+15005550001"))

    assert await sms_app.deliver() == 2
    delivery = await sms_app.sms_delivery()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == ("dead", 1, None)
    assert "21211" in (delivery.last_error or "")
    sms_app.app.clock.advance(timedelta(days=2))
    assert await sms_app.deliver() == 0
    metrics = (await sms_app.app.client.get("/metrics")).text
    assert 'notification_deliveries_dead_total{channel="sms",kind="booking_confirmed"} 1.0' in metrics
    assert await sms_app.at_sink() == []


async def test_an_undelivered_status_callback_makes_the_delivery_dead_with_the_reason(sms_app: SmsApp) -> None:
    await sms_app.app.consume(confirmed_with_phone("+351912345678"))
    await sms_app.deliver()
    delivery = await sms_app.sms_delivery()
    assert delivery.state == "sent"
    assert delivery.provider_message_id is not None

    params = {
        "AccountSid": sms_app.app.settings.twilio_account_sid,
        "MessageSid": delivery.provider_message_id,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": delivery.address,
    }
    signature = RequestValidator(sms_app.app.settings.twilio_auth_token).compute_signature(
        f"http://notification{STATUS_PATH}", params
    )
    answer = await sms_app.app.client.post(STATUS_PATH, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 204

    delivery = await sms_app.sms_delivery()
    assert delivery.state == "dead"
    assert "undelivered" in (delivery.last_error or "")
    assert "30003" in (delivery.last_error or "")
    metrics = (await sms_app.app.client.get("/metrics")).text
    assert 'notification_deliveries_dead_total{channel="sms",kind="booking_confirmed"} 1.0' in metrics
