"""What booking tells about a traveler's booking that a message to them needs, each written
once in the transaction that decides it, however often the event that caused it arrives: a
checkout whose card was declined, a hold that ran out unpaid, each refund payment made, and
seats held for their waitlist entry."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from services.booking.bookings.consumers import saga_consumer
from services.booking.bookings.models import Booking
from services.booking.tests.conftest import BookingApp, answer, upstream_pools
from services.booking.upstreams.inventory import InventoryClient
from services.booking.waitlist.consumers import waitlist_consumer
from services.booking.waitlist.models import WaitlistEntry
from services.booking.waitlist.schemas import WaitlistJoin
from services.booking.waitlist.service import join_waitlist
from shared.contracts.inventory import HoldExpired, WaitlistHoldPlaced
from shared.contracts.inventory_api import ListingSummary
from shared.contracts.payment import PaymentFailed, PaymentRefunded
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import OutboxMessage
from shared.metrics import AppMetrics
from shared.testing import consumer_record, make_identity

PHONE = "+351 912 345 678"
# When payment made the refunds: booking hears of them later.
MADE_AT = datetime(2031, 5, 4, 8, 58, tzinfo=UTC)


async def _consume(spec: ConsumerSpec, app: BookingApp, bootstrap_servers: str, *envelopes: EventEnvelope) -> None:
    """Through the consumer as Kafka hands the messages over: the inbox in the way."""
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    consumer = EventConsumer(
        spec=spec,
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


def _wrap(payload: EventPayload, producer: str, key: UUID, *, occurred_at: datetime | None = None) -> EventEnvelope:
    return EventEnvelope.wrap(payload, producer=producer, key=str(key), occurred_at=occurred_at)


async def _events(app: BookingApp, key: UUID, event_type: str) -> list[dict[str, Any]]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.key == str(key), OutboxMessage.event_type == event_type)
            .order_by(OutboxMessage.id)
        )
        return [row.envelope["payload"] for row in rows]


async def _unpaid(app: BookingApp) -> Booking:
    return await app.add_booking(
        traveler=make_identity("traveler"),
        provider=make_identity("provider"),
        starts_in=timedelta(days=5),
        status="pending_payment",
        paid_at=None,
        payment_option="deposit",
        amount_due_now=Decimal("26.40"),
        payment_intent_id=f"pi_{uuid.uuid4().hex[:12]}",
        contact={"name": "Ana Silva", "email": "ana@example.com", "phone": PHONE},
    )


def _traveler_facts(booking: Booking) -> dict[str, Any]:
    return {
        "booking_id": str(booking.id),
        "reference": booking.reference,
        "traveler_id": str(booking.traveler_id),
        "provider_id": str(booking.provider_id),
        "listing_id": str(booking.listing_id),
        "listing_title": "Sunset kayak tour",
        "starts_at": booking.starts_at.isoformat().replace("+00:00", "Z"),
        "timezone": "Europe/Lisbon",
        "contact_name": "Ana Silva",
        "contact_email": "ana@example.com",
        "contact_phone": PHONE,
    }


async def test_a_declined_checkout_tells_the_traveler_once_with_the_booking_and_the_reason(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    booking = await _unpaid(booking_app)
    declined = _wrap(
        PaymentFailed(
            booking_id=booking.id,
            payment_intent_id=str(booking.payment_intent_id),
            reason="card_declined",
            purpose="booking",
        ),
        "payment",
        booking.id,
    )
    declined_again = _wrap(declined.parse_payload(), "payment", booking.id)

    await _consume(saga_consumer(booking_app.clock), booking_app, bootstrap_servers, declined, declined, declined_again)

    [failed] = await _events(booking_app, booking.id, "booking.payment_failed")
    assert failed == _traveler_facts(booking) | {
        "hold_id": str(booking.hold_id),
        "slot_id": str(booking.slot_id),
        "ends_at": booking.ends_at.isoformat().replace("+00:00", "Z"),
        "seats": 2,
        "total": "88.00",
        "amount_due": "26.40",
        "currency": "EUR",
        "reason": "card_declined",
        "failed_at": "2031-05-04T09:00:00Z",
    }


async def test_a_hold_that_ran_out_unpaid_tells_the_traveler_once_with_the_booking(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    booking = await _unpaid(booking_app)
    ran_out = HoldExpired(
        hold_id=booking.hold_id, slot_id=booking.slot_id, listing_id=booking.listing_id, seats=2, local_date=None
    )
    first = _wrap(ran_out, "inventory", booking.slot_id)
    booking_app.clock.advance(timedelta(minutes=15))

    await _consume(
        saga_consumer(booking_app.clock),
        booking_app,
        bootstrap_servers,
        first,
        first,
        _wrap(ran_out, "inventory", booking.slot_id),
    )

    [expired] = await _events(booking_app, booking.id, "booking.expired")
    assert expired == _traveler_facts(booking) | {
        "hold_id": str(booking.hold_id),
        "slot_id": str(booking.slot_id),
        "ends_at": booking.ends_at.isoformat().replace("+00:00", "Z"),
        "seats": 2,
        "total": "88.00",
        "amount_due": "26.40",
        "currency": "EUR",
        "expired_at": "2031-05-04T09:15:00Z",
    }


async def test_each_refund_payment_made_tells_the_traveler_once_however_often_it_is_reported(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    booking = await booking_app.add_booking(
        traveler=make_identity("traveler"),
        provider=make_identity("provider"),
        starts_in=timedelta(days=5),
        status="cancelled",
        payment_intent_id="pi_refunded",
        contact={"name": "Ana Silva", "email": "ana@example.com", "phone": PHONE},
    )

    def refunded(amount: str, refund_id: str, to: str) -> EventEnvelope:
        made = PaymentRefunded(
            booking_id=booking.id,
            payment_intent_id="pi_refunded",
            amount=Decimal(amount),
            currency="EUR",
            refund_id=refund_id,
            refunded_to=to,
        )
        return _wrap(made, "payment", booking.id, occurred_at=MADE_AT)

    to_credit = refunded("20.00", f"refund-to-credit:p1:{booking.id}:traveler_cancellation", "credit")
    to_card = refunded("24.00", f"refund:pi_refunded:{booking.id}:traveler_cancellation", "card")
    to_card_reported_again = refunded("24.00", f"refund:pi_refunded:{booking.id}:traveler_cancellation", "card")
    # Written before payment named its refunds: the event is the refund's name.
    unnamed = _wrap(
        PaymentRefunded(booking_id=booking.id, payment_intent_id="pi_refunded", amount=Decimal("1.00"), currency="EUR"),
        "payment",
        booking.id,
        occurred_at=MADE_AT,
    )
    await _consume(
        saga_consumer(booking_app.clock),
        booking_app,
        bootstrap_servers,
        to_credit,
        to_card,
        to_credit,
        to_card_reported_again,
        unnamed,
        unnamed,
    )

    completed = await _events(booking_app, booking.id, "booking.refund_completed")
    facts = _traveler_facts(booking) | {"payment_intent_id": "pi_refunded", "refunded_at": "2031-05-04T08:58:00Z"}
    assert completed == [
        facts
        | {
            "amount": "20.00",
            "currency": "EUR",
            "refunded_to": "credit",
            "refund_id": f"refund-to-credit:p1:{booking.id}:traveler_cancellation",
        },
        facts
        | {
            "amount": "24.00",
            "currency": "EUR",
            "refunded_to": "card",
            "refund_id": f"refund:pi_refunded:{booking.id}:traveler_cancellation",
        },
        facts | {"amount": "1.00", "currency": "EUR", "refunded_to": None, "refund_id": f"event:{unnamed.event_id}"},
    ]
    async with booking_app.sessions() as session:
        assert (await session.get_one(Booking, booking.id)).status == "refunded"


async def test_seats_held_for_a_waitlist_entry_offer_them_to_its_traveler_once(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    traveler, listing_id, day = make_identity("traveler"), uuid.uuid4(), date(2031, 6, 1)
    listing = ListingSummary(
        id=listing_id,
        provider_id=uuid.uuid4(),
        title="Sunset kayak tour",
        category="tour",
        city="Lisbon",
        currency="EUR",
        booking_mode="instant",
        max_party_size=8,
    )

    def inventory(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/listings/{listing_id}"
        return answer(200, listing)

    async with upstream_pools(inventory=inventory) as pools, booking_app.sessions() as session:
        entry = await join_waitlist(
            session,
            traveler=traveler,
            request=WaitlistJoin(listing_id=listing_id, date=day, party_size=3),
            inventory=InventoryClient(pools.inventory, acting=None),
            clock=booking_app.clock,
        )
    hold_id, slot_id = uuid.uuid4(), uuid.uuid4()
    starts_at = booking_app.clock.now() + timedelta(days=28)
    held = WaitlistHoldPlaced(
        entry_id=entry.id,
        hold_id=hold_id,
        slot_id=slot_id,
        listing_id=listing_id,
        holder_id=traveler.user_id,
        seats=3,
        expires_at=booking_app.clock.now() + timedelta(minutes=30),
        listing_title="Sunset kayak tour",
        starts_at=starts_at,
        timezone="Europe/Lisbon",
    )
    first = _wrap(held, "inventory", slot_id)
    spec = waitlist_consumer(claim_seconds=1800, clock=booking_app.clock)

    await _consume(spec, booking_app, bootstrap_servers, first, first, _wrap(held, "inventory", slot_id))

    [offered] = await _events(booking_app, entry.id, "booking.waitlist_offered")
    assert offered == {
        "entry_id": str(entry.id),
        "traveler_id": str(traveler.user_id),
        "traveler_email": traveler.email,
        "listing_id": str(listing_id),
        "listing_title": "Sunset kayak tour",
        "local_date": "2031-06-01",
        "party_size": 3,
        "hold_id": str(hold_id),
        "slot_id": str(slot_id),
        "seats": 3,
        "starts_at": "2031-06-01T09:00:00Z",
        "timezone": "Europe/Lisbon",
        "offer_expires_at": "2031-05-04T09:30:00Z",
        "offered_at": "2031-05-04T09:00:00Z",
    }


async def test_an_offer_held_by_an_inventory_that_did_not_say_the_title_names_the_listing_the_entry_kept(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    traveler = make_identity("traveler")
    async with booking_app.sessions() as session, session.begin():
        entry = WaitlistEntry(
            traveler_id=traveler.user_id,
            traveler_email=traveler.email,
            listing_id=uuid.uuid4(),
            listing_title="Old town food walk",
            local_date=date(2031, 6, 2),
            party_size=2,
        )
        session.add(entry)
    held = WaitlistHoldPlaced(
        entry_id=entry.id,
        hold_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        listing_id=entry.listing_id,
        holder_id=traveler.user_id,
        seats=2,
        expires_at=booking_app.clock.now() + timedelta(minutes=30),
    )

    await _consume(
        waitlist_consumer(claim_seconds=1800, clock=booking_app.clock),
        booking_app,
        bootstrap_servers,
        _wrap(held, "inventory", held.slot_id),
    )

    [offered] = await _events(booking_app, entry.id, "booking.waitlist_offered")
    assert (offered["listing_title"], offered["starts_at"], offered["timezone"]) == ("Old town food walk", None, None)
