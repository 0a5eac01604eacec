"""The platform as `make up` runs it, through a provider outage: with SMTP down and the SMS
provider answering 500 for a minute while 50 instant bookings are made, every booking's
confirmation still reaches its contact once by email and once by SMS when the providers come
back; nothing is lost, nothing arrives twice, and no delivery is given up on."""

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notification.notifications.models import Delivery, Notification
from shared.db import create_engine, create_session_factory
from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

OUTAGE_SECONDS = 60
# Fifty bookings: each traveler books one place of each listing (a traveler holds a slot once).
TRAVELERS = 5
LISTINGS = 10
BOOKINGS = TRAVELERS * LISTINGS
# Concurrent clients: the bookings are made well inside the outage without flooding the
# database the platform shares.
CLIENTS = 8
# The test platform retries a delivery at most 8 s after its last failure (30 s, its lease, when
# the worker died mid-batch), so the queue drains seconds after the outage; this bounds the wait.
DRAIN_SECONDS = 60

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Booked:
    id: UUID
    reference: str
    email: str
    phone: str  # E.164, as the SMS is addressed
    traveler: dict[str, str] = field(repr=False)  # who booked: their headers (a token)


@dataclass(frozen=True)
class Mark:
    """Where the sinks stood before the outage: what came after is this test's."""

    last_email_id: int
    texts: int


@dataclass(frozen=True)
class Sinks:
    mail: httpx.Client
    sms: httpx.Client

    def mark(self) -> Mark:
        emails = self._emails()
        return Mark(
            last_email_id=max((mail["id"] for mail in emails["items"]), default=0),
            texts=len(self._texts()),
        )

    def since(self, mark: Mark) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The emails and the SMS that arrived after `mark`."""
        emails = [mail for mail in self._emails()["items"] if mail["id"] > mark.last_email_id]
        return emails, self._texts()[mark.texts :]

    def _emails(self) -> dict[str, Any]:
        listed: dict[str, Any] = self.mail.get("/messages").raise_for_status().json()
        return listed

    def _texts(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.sms.get("/messages").raise_for_status().json()["items"]
        return items


@pytest.fixture
def sinks(platform: PlatformPorts) -> Iterator[Sinks]:
    """The sinks' control sides; an outage a test leaves behind is ended after it."""
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{platform.mail_http}", timeout=10) as mail,
        httpx.Client(base_url=f"http://127.0.0.1:{platform.twilio_sink}", timeout=10) as sms,
    ):
        try:
            yield Sinks(mail=mail, sms=sms)
        finally:
            mail.delete("/outage")
            sms.delete("/faults")


@pytest.mark.timeout(600)
def test_a_minute_of_smtp_and_sms_outage_during_50_bookings_loses_nothing_and_sends_nothing_twice(
    platform: PlatformPorts, sinks: Sinks, database_url: str
) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        provider = sign_up(gateway, "provider")
        slots = _concurrently(lambda _: _slot(platform, provider), range(LISTINGS))
    travelers = _concurrently(lambda _: _signed_up(platform, "traveler"), range(TRAVELERS))
    mark = sinks.mark()
    dead_before = _metric(platform, "notification_deliveries_dead")

    sinks.mail.post("/outage", json={"for_seconds": OUTAGE_SECONDS}).raise_for_status()
    sinks.sms.post("/faults", json={"status": 500, "for_seconds": OUTAGE_SECONDS}).raise_for_status()
    outage_ends = time.monotonic() + OUTAGE_SECONDS

    orders = [(number, traveler, slot) for number, (traveler, slot) in enumerate(itertools.product(travelers, slots))]
    booked = [_confirmed(platform, booking) for booking in _concurrently(lambda order: _paid(platform, *order), orders)]
    assert time.monotonic() < outage_ends, "the bookings outlasted the outage: they prove nothing"

    deadline = outage_ends + DRAIN_SECONDS
    _wait_for_every_confirmation(sinks, mark, booked, deadline)
    deliveries = _wait_until_recorded_sent(database_url, booked, deadline)
    # Read once all is recorded sent: a delivery recorded sent is never sent again.
    emails, texts = sinks.since(mark)

    for booking in booked:
        email_delivery, sms_delivery = deliveries[booking.id, "email"], deliveries[booking.id, "sms"]
        confirmations = [mail for mail in emails if booking.reference in mail["subject"]]
        assert [(mail["message_id"], mail["rcpt_tos"]) for mail in confirmations] == [
            (email_delivery.idempotency_key, [booking.email])
        ], booking
        about = [text for text in texts if booking.reference in text["body"]]
        assert [(text["sid"], text["to"]) for text in about] == [(sms_delivery.provider_message_id, booking.phone)], (
            booking
        )
        assert about[0]["body"].startswith(f"Booking {booking.reference} confirmed: ")
        # Each met the outage: refused at least once before it went.
        assert email_delivery.attempts >= 2, email_delivery.last_error
        assert sms_delivery.attempts >= 2, sms_delivery.last_error

    # Nothing else that came meanwhile (the travelers' welcome emails) came twice either. (What
    # counts is what arrived: a worker that dies just after a handover hands it over again, and
    # the sink drops the repeat by its Message-ID, as a receiving mail system does.)
    assert _repeated((tuple(mail["rcpt_tos"]), mail["subject"]) for mail in emails) == []
    assert _repeated(mail["message_id"] for mail in emails) == []
    assert _repeated((text["to"], text["body"]) for text in texts) == []
    assert _metric(platform, "notification_deliveries_dead") == dead_before == 0
    assert _metric(platform, "notification_delivery_attempts", outcome="failed") >= 2 * BOOKINGS


def _concurrently(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(work, items))


def _signed_up(platform: PlatformPorts, role: str) -> dict[str, str]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        return sign_up(gateway, role)


def _slot(platform: PlatformPorts, provider: dict[str, str]) -> str:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        _, slot_id = listing_with_slot(gateway, provider, capacity=TRAVELERS)
    return slot_id


def _paid(platform: PlatformPorts, number: int, traveler: dict[str, str], slot_id: str) -> Booked:
    """An instant booking of one place, paid, for a contact with an address and a mobile number
    of their own."""
    email = f"outage-{number}-{uuid.uuid4().hex[:8]}@example.com"
    phone = f"+35191{number:07d}"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler)
        assert hold.status_code == 201, hold.text
        created = gateway.post(
            "/api/v1/bookings",
            json={
                "hold_id": hold.json()["id"],
                "contact": {"name": f"Traveler {number}", "email": email, "phone": phone},
                "payment_option": "full",
            },
            headers=traveler,
        )
        assert created.status_code == 201, created.text
    booking = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded", paid.text
    return Booked(id=UUID(booking["id"]), reference=booking["reference"], email=email, phone=phone, traveler=traveler)


def _confirmed(platform: PlatformPorts, booking: Booked) -> Booked:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        wait_for_status(gateway, str(booking.id), booking.traveler, "confirmed")
    return booking


def _wait_for_every_confirmation(sinks: Sinks, mark: Mark, booked: list[Booked], deadline: float) -> None:
    """Until every booking's reference reached both sinks, or the deadline passed (the checks
    that follow then say what is missing)."""
    while time.monotonic() < deadline:
        emails, texts = sinks.since(mark)
        subjects = "\n".join(mail["subject"] for mail in emails)
        bodies = "\n".join(text["body"] for text in texts)
        if all(booking.reference in subjects and booking.reference in bodies for booking in booked):
            return
        time.sleep(0.5)


def _wait_until_recorded_sent(
    database_url: str, booked: list[Booked], deadline: float
) -> dict[tuple[UUID, str], Delivery]:
    """Each booking's confirmation delivery by channel, once every one is recorded sent (the
    worker records it just after the provider took it), or as they are at the deadline."""
    return asyncio.run(_recorded_sent(database_url, [booking.id for booking in booked], deadline))


async def _recorded_sent(
    database_url: str, booking_ids: list[UUID], deadline: float
) -> dict[tuple[UUID, str], Delivery]:
    engine = create_engine(database_url=database_url, schema="notification", pool_size=1)
    expected = {(booking_id, channel) for booking_id in booking_ids for channel in ("email", "sms")}
    try:
        while True:
            try:
                recorded = await _confirmation_deliveries(engine, booking_ids)
            except DBAPIError:
                # The database the platform shares can refuse a connection for a moment.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
                continue
            unsent = [delivery for delivery in recorded.values() if delivery.state != "sent"]
            if (set(recorded) == expected and not unsent) or time.monotonic() > deadline:
                assert expected - set(recorded) == set(), "bookings told by no delivery"
                assert unsent == []
                return recorded
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def _confirmation_deliveries(engine: AsyncEngine, booking_ids: list[UUID]) -> dict[tuple[UUID, str], Delivery]:
    async with create_session_factory(engine)() as session:
        rows = (
            await session.execute(
                select(Notification.subject_id, Delivery)
                .join(Delivery, Delivery.notification_id == Notification.id)
                .where(Notification.kind == "booking_confirmed", Notification.subject_id.in_(booking_ids))
            )
        ).all()
    recorded = {(subject_id, delivery.channel): delivery for subject_id, delivery in rows if subject_id is not None}
    assert len(recorded) == len(rows), "a booking's confirmation has two deliveries on one channel"
    return recorded


def _metric(platform: PlatformPorts, name: str, **labels: str) -> float:
    """The sum of a notification counter's samples (those with `labels`); 0 before any."""
    text = httpx.get(f"{platform.url('notification')}/metrics", timeout=10).raise_for_status().text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == name
        for sample in family.samples
        if sample.name == f"{name}_total" and all(sample.labels.get(key) == value for key, value in labels.items())
    )


def _repeated(values: Iterable[Hashable]) -> list[Hashable]:
    return [value for value, count in Counter(values).items() if count > 1]
