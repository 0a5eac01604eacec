"""`booking_bookings_total` counts bookings entering each status, and
`booking_payment_confirmation_seconds` times a paid booking from payment's receipt of the
payment to its confirmation."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from services.booking.bookings.consumers import saga_consumer
from services.booking.tests.conftest import BookingApp
from shared.app import AppResources
from shared.contracts.inventory import SeatsConfirmed
from shared.contracts.payment import PaymentFailed, PaymentSucceeded
from shared.events.envelope import EventEnvelope, EventPayload
from shared.testing import make_identity


async def _scraped(booking_app: BookingApp, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = (await booking_app.client.get("/metrics")).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def _entered(booking_app: BookingApp, status: str) -> float:
    return (await _scraped(booking_app, "booking_bookings_total")).get((("status", status),), 0)


async def _handle(booking_app: BookingApp, envelope: EventEnvelope) -> None:
    resources: AppResources = booking_app.app.state.resources
    payload = envelope.parse_payload()
    handle = saga_consumer(booking_app.clock).handlers[(payload.event_type, payload.event_version)]
    async with resources.session_factory() as session, session.begin():
        await handle(session, envelope)


def _from(payload: EventPayload, producer: str, booking_app: BookingApp) -> EventEnvelope:
    return EventEnvelope.wrap(payload, producer=producer, key="k", occurred_at=booking_app.clock.now())


async def test_a_paid_booking_is_counted_confirmed_and_timed_from_the_payments_receipt(
    booking_app: BookingApp,
) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    booking = await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=timedelta(days=3),
        status="pending_payment",
        paid_at=None,
        payment_intent_id=f"pi_{uuid.uuid4().hex[:10]}",
    )
    confirmed_before = await _entered(booking_app, "confirmed")
    assert booking.payment_intent_id is not None

    # Payment received the payment now; seats come back confirmed 1.5 s later.
    await _handle(
        booking_app,
        _from(
            PaymentSucceeded(
                booking_id=booking.id,
                payment_intent_id=booking.payment_intent_id,
                purpose="booking",
                amount=Decimal("88.00"),
                platform_fee=Decimal("8.80"),
                currency="EUR",
            ),
            "payment",
            booking_app,
        ),
    )
    booking_app.clock.advance(timedelta(seconds=1.5))
    seats = SeatsConfirmed(
        booking_id=booking.id,
        hold_id=booking.hold_id,
        slot_id=booking.slot_id,
        listing_id=booking.listing_id,
        seats=2,
        late=False,
    )
    await _handle(booking_app, _from(seats, "inventory", booking_app))

    async with asyncio.timeout(10):
        while await _entered(booking_app, "confirmed") != confirmed_before + 1:
            await asyncio.sleep(0.05)
    buckets = await _scraped(booking_app, "booking_payment_confirmation_seconds_bucket")
    assert buckets[(("le", "1.0"),)] == 0
    assert buckets[(("le", "2.0"),)] == 1


async def test_a_failed_payment_counts_the_booking_as_payment_failed(booking_app: BookingApp) -> None:
    booking = await booking_app.add_booking(
        traveler=make_identity("traveler"),
        provider=make_identity("provider"),
        starts_in=timedelta(days=3),
        status="pending_payment",
        paid_at=None,
        payment_intent_id=f"pi_{uuid.uuid4().hex[:10]}",
    )
    failed_before = await _entered(booking_app, "payment_failed")
    assert booking.payment_intent_id is not None

    failed = PaymentFailed(booking_id=booking.id, payment_intent_id=booking.payment_intent_id, reason="card_declined")
    await _handle(booking_app, _from(failed, "payment", booking_app))

    async with asyncio.timeout(10):
        while await _entered(booking_app, "payment_failed") != failed_before + 1:
            await asyncio.sleep(0.05)
