"""A blackout over booked slots, as booking consumes it: every live booking on them is
cancelled once as its provider's cancellation (everything refunded, the credit), recorded in
its history with the reason, and requests waiting on them are declined; the same event twice,
or another blackout over the same slots, changes nothing more."""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from services.booking.bookings.models import Booking
from services.booking.cancellations.consumers import blackouts_consumer
from services.booking.history.models import BookingChange
from services.booking.requests.models import BookingRequest
from services.booking.tests.conftest import BookingApp
from shared.contracts.inventory import SlotsBlackedOut
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.metrics import AppMetrics
from shared.testing import consumer_record, make_identity


def _blackout(provider_id: UUID, listing_id: UUID, slots: list[UUID]) -> SlotsBlackedOut:
    return SlotsBlackedOut(
        blackout_id=uuid.uuid4(),
        listing_id=listing_id,
        start_date=date(2031, 5, 10),
        end_date=date(2031, 5, 12),
        reason="Storm warning",
        created_by=provider_id,
        slots_closed=slots,
        slots_with_bookings=slots,
    )


async def _consume(app: BookingApp, bootstrap_servers: str, *envelopes: EventEnvelope) -> None:
    """Through the consumer as Kafka would hand the messages over: the inbox in the way."""
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    consumer = EventConsumer(
        spec=blackouts_consumer(app.settings, app.clock),
        session_factory=app.sessions,
        bootstrap_servers=bootstrap_servers,
        dead_letter_producer=dead_letters,
        metrics=AppMetrics("test").consumer,
        max_attempts=1,
    )
    try:
        for offset, envelope in enumerate(envelopes):
            await consumer.handle_record(consumer_record(envelope, offset))
    finally:
        await dead_letters.stop()


async def _events(app: BookingApp, key: UUID) -> list[tuple[str, dict[str, Any]]]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == str(key)).order_by(OutboxMessage.id)
        )
        return [(row.event_type, row.envelope["payload"]) for row in rows]


async def test_a_blackout_cancels_the_live_bookings_of_its_slots_once_as_the_providers_cancellation(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    provider, traveler = make_identity("provider"), make_identity("traveler")
    listing_id, dark_slot, other_slot = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    days = timedelta(days=8)
    on_the_dark_slot = {"listing_id": listing_id, "slot_id": dark_slot}
    paid = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=days, **on_the_dark_slot)
    unpaid = await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=days,
        status="pending_payment",
        paid_at=None,
        payment_intent_id="pi_unpaid",
        **on_the_dark_slot,
    )
    already_cancelled = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=days, status="cancelled", **on_the_dark_slot
    )
    elsewhere = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=days, listing_id=listing_id, slot_id=other_slot
    )
    request_id = uuid.uuid4()
    async with booking_app.sessions() as session, session.begin():
        session.add(
            BookingRequest(
                id=request_id,
                traveler_id=traveler.user_id,
                traveler_email=traveler.email,
                provider_id=provider.user_id,
                provider_email=provider.email,
                listing_id=listing_id,
                listing_title="Sunset kayak tour",
                timezone="Europe/Lisbon",
                currency="EUR",
                slot_id=dark_slot,
                starts_at=paid.starts_at,
                ends_at=paid.ends_at,
                adults=2,
                children=0,
                infants=0,
                seats=2,
                contact={"name": "Ana", "email": "ana@example.com"},
                price_estimate={"quote": {"total": "88.00", "currency": "EUR"}, "estimate": None},
                status="pending_provider",
                requested_at=booking_app.clock.now(),
                expires_at=booking_app.clock.now() + timedelta(hours=48),
            )
        )

    first = EventEnvelope.wrap(_blackout(provider.user_id, listing_id, [dark_slot]), producer="inventory", key="l")
    again_over_the_same_slots = EventEnvelope.wrap(
        _blackout(provider.user_id, listing_id, [dark_slot]), producer="inventory", key="l"
    )
    await _consume(booking_app, bootstrap_servers, first, first, again_over_the_same_slots)

    async with booking_app.sessions() as session:
        read = {booking.id: booking for booking in await session.scalars(select(Booking))}
        history = (
            await session.scalars(
                select(BookingChange).where(BookingChange.booking_id == paid.id, BookingChange.action == "cancelled")
            )
        ).all()
        booking_request = await session.get_one(BookingRequest, request_id)
    credit = booking_app.settings.provider_cancellation_credit
    assert (read[paid.id].status, read[paid.id].cancelled_by) == ("cancelled", "provider")
    assert (read[paid.id].refund_amount, read[paid.id].credit_amount) == (Decimal("88.00"), credit)
    assert (read[unpaid.id].status, read[unpaid.id].refund_amount) == ("cancelled", Decimal("0.00"))
    assert read[already_cancelled.id].cancelled_by is None
    assert read[elsewhere.id].status == "confirmed"
    assert [(change.actor_role, change.actor_id) for change in history] == [("provider", provider.user_id)]
    assert history[0].reason == "the date was blacked out: Storm warning"

    paid_events = await _events(booking_app, paid.id)
    assert [kind for kind, _ in paid_events] == [
        "booking.cancelled",
        "booking.seats_released",
        "booking.refund_requested",
    ]
    cancelled = paid_events[0][1]
    assert (cancelled["cancelled_by"], cancelled["refund"], Decimal(cancelled["credit"])) == (
        "provider",
        "88.00",
        credit,
    )
    assert "Storm warning" in cancelled["reason"]
    assert (cancelled["blackout_id"], cancelled["blackout_reason"]) == (first.payload["blackout_id"], "Storm warning")
    assert (cancelled["provider_id"], cancelled["traveler_id"]) == (str(provider.user_id), str(traveler.user_id))
    # The unpaid booking's intent is cancelled by payment on booking.cancelled; nothing to refund.
    assert [kind for kind, _ in await _events(booking_app, unpaid.id)] == [
        "booking.cancelled",
        "booking.seats_released",
    ]
    assert await _events(booking_app, elsewhere.id) == []

    assert (booking_request.status, booking_request.status_reason) == (
        "declined",
        "the date was blacked out: Storm warning",
    )
    assert [kind for kind, _ in await _events(booking_app, request_id)] == ["booking_request.declined"]
