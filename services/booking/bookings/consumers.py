"""The booking saga on events: paid → seats sold → confirmed; or failed, expired, refunded."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.balances.domain import is_balance_payment
from services.booking.bookings.metrics import time_confirmation
from services.booking.bookings.models import Booking, BookingRefund
from services.booking.bookings.service import PRODUCER
from services.booking.history.service import SYSTEM, move, record_change
from services.booking.modifications.models import is_change_payment
from shared.clock import Clock
from shared.contracts.booking import (
    BookingConfirmed,
    BookingExpired,
    BookingPaymentFailed,
    BookingPaymentReceived,
    BookingRefundCompleted,
    BookingRefundRequested,
)
from shared.contracts.inventory import HoldExpired, SeatsConfirmed, SeatsUnavailable
from shared.contracts.payment import PaymentFailed, PaymentRefunded, PaymentSucceeded
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import EventEnvelope, EventPayload, topic_for
from shared.events.outbox import add_event
from shared.money import money


def _emit(session: AsyncSession, booking: Booking, event: EventPayload) -> None:
    add_event(session, event, producer=PRODUCER, key=str(booking.id))


async def _locked(session: AsyncSession, booking_id: UUID) -> Booking | None:
    return await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())


async def _paid_by(session: AsyncSession, booking_id: UUID, payment_intent_id: str) -> list[Booking]:
    """The bookings an intent pays for: the booking it was made for, or every booking of the
    cart checkout it was made for (payment knows that one by the cart's id)."""
    query = select(Booking).where(or_(Booking.id == booking_id, Booking.payment_intent_id == payment_intent_id))
    return list((await session.scalars(query.order_by(Booking.id).with_for_update())).all())


def _unpaid_booking_facts(booking: Booking) -> dict[str, Any]:
    """The fields of `UnpaidBookingFacts`: what the traveler's message about it says."""
    return {
        "reference": booking.reference,
        "traveler_id": booking.traveler_id,
        "provider_id": booking.provider_id,
        "listing_id": booking.listing_id,
        "listing_title": booking.listing_title,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "timezone": booking.timezone,
        "seats": booking.seats,
        "contact_name": str(booking.contact["name"]),
        "contact_email": str(booking.contact["email"]),
        "contact_phone": booking.contact.get("phone"),
        "total": booking.total,
        "amount_due": booking.amount_due_now,
        "currency": booking.currency,
    }


def saga_consumer(clock: Clock) -> ConsumerSpec:
    async def on_payment_succeeded(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = PaymentSucceeded.model_validate(envelope.payload)
        if is_change_payment(event.purpose) or is_balance_payment(event.purpose):
            return  # a modification's difference or a deposit's balance: see their consumers
        paid_by_it = await _paid_by(session, event.booking_id, event.payment_intent_id)
        for booking in paid_by_it:
            if booking.paid_at is not None:
                continue
            # A cart's one payment: each booking carries its share of the platform fee.
            share = booking.amount_due_now / event.amount if len(paid_by_it) > 1 else Decimal(1)
            _take_payment(
                session,
                booking,
                event,
                fee=money(event.platform_fee * share, event.currency),
                received_at=envelope.occurred_at,
            )

    def _take_payment(
        session: AsyncSession, booking: Booking, event: PaymentSucceeded, *, fee: Decimal, received_at: datetime
    ) -> None:
        booking.paid_at = clock.now()
        booking.payment_received_at = received_at
        booking.platform_fee = fee
        record_change(
            session,
            booking=booking,
            action="paid",
            changes={"paid_at": (None, booking.paid_at), "amount_paid": (None, booking.amount_due_now)},
            actor=SYSTEM,
            at=booking.paid_at,
        )
        if booking.status == "cancelled":
            # Paid after it was cancelled (the intent was on its way to being cancelled): all of
            # it goes back, and no seats are asked for.
            record_change(
                session,
                booking=booking,
                action="refund_decided",
                changes={"refund_amount": (booking.refund_amount, booking.amount_due_now)},
                actor=SYSTEM,
                at=clock.now(),
                reason="paid after it was cancelled",
            )
            booking.refund_amount = booking.amount_due_now
            _emit(
                session,
                booking,
                BookingRefundRequested(
                    booking_id=booking.id,
                    amount=booking.amount_due_now,
                    currency=event.currency,
                    reason="paid_after_cancellation",
                    payment_intent_id=event.payment_intent_id,
                ),
            )
            return
        _emit(
            session,
            booking,
            BookingPaymentReceived(
                booking_id=booking.id, hold_id=booking.hold_id, slot_id=booking.slot_id, seats=booking.seats
            ),
        )

    async def on_payment_failed(session: AsyncSession, event: PaymentFailed) -> None:
        for booking in await _paid_by(session, event.booking_id, event.payment_intent_id):
            if booking.status != "pending_payment" or booking.paid_at is not None:
                continue
            now = clock.now()
            move(session, booking, "payment_failed", actor=SYSTEM, at=now, reason=event.reason)
            _emit(
                session,
                booking,
                BookingPaymentFailed(
                    booking_id=booking.id,
                    hold_id=booking.hold_id,
                    slot_id=booking.slot_id,
                    reason=event.reason,
                    failed_at=now,
                    **_unpaid_booking_facts(booking),
                ),
            )

    async def on_hold_expired(session: AsyncSession, event: HoldExpired) -> None:
        booking = await session.scalar(select(Booking).where(Booking.hold_id == event.hold_id).with_for_update())
        if booking is None or booking.status != "pending_payment" or booking.paid_at is not None:
            return
        now = clock.now()
        move(session, booking, "expired", actor=SYSTEM, at=now, reason="the hold expired before payment")
        _emit(
            session,
            booking,
            BookingExpired(
                booking_id=booking.id,
                hold_id=booking.hold_id,
                slot_id=booking.slot_id,
                expired_at=now,
                **_unpaid_booking_facts(booking),
            ),
        )

    async def on_seats_confirmed(session: AsyncSession, event: SeatsConfirmed) -> None:
        booking = await _locked(session, event.booking_id)
        # A booking cancelled meanwhile stays so: its release of the seats follows this sale.
        if (
            booking is None
            or booking.hold_id != event.hold_id
            or booking.status in ("confirmed", "cancelled", "refunded")
        ):
            return
        move(session, booking, "confirmed", actor=SYSTEM, at=clock.now())
        if booking.payment_received_at is not None:
            time_confirmation(session, payment_received_at=booking.payment_received_at, confirmed_at=clock.now())
        contact = booking.contact
        _emit(
            session,
            booking,
            BookingConfirmed(
                booking_id=booking.id,
                reference=booking.reference,
                traveler_id=booking.traveler_id,
                provider_id=booking.provider_id,
                listing_id=booking.listing_id,
                listing_title=booking.listing_title,
                category=booking.category,
                slot_id=booking.slot_id,
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                timezone=booking.timezone,
                seats=booking.seats,
                total=booking.total,
                platform_fee=booking.platform_fee or 0,
                currency=booking.currency,
                contact_name=str(contact["name"]),
                contact_email=str(contact["email"]),
                confirmed_at=clock.now(),
                contact_phone=contact.get("phone"),
            ),
        )

    async def on_seats_unavailable(session: AsyncSession, event: SeatsUnavailable) -> None:
        booking = await _locked(session, event.booking_id)
        # Seats for another hold of the booking (a modification's) are not the booking's own.
        if booking is None or booking.hold_id != event.hold_id or booking.status in ("cancelled", "refunded"):
            return
        # Paid, but the seats went to someone else after the hold lapsed: the money goes back.
        move(
            session,
            booking,
            "cancelled",
            actor=SYSTEM,
            at=clock.now(),
            reason="the seats were sold before the payment arrived",
            extra={"refund_amount": (booking.refund_amount, booking.amount_paid)},
        )
        booking.refund_amount = booking.amount_paid
        _emit(
            session,
            booking,
            BookingRefundRequested(
                booking_id=booking.id,
                amount=booking.amount_paid,
                currency=booking.currency,
                reason="seats_unavailable",
                payment_intent_id=booking.payment_intent_id,
            ),
        )

    async def on_payment_refunded(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = PaymentRefunded.model_validate(envelope.payload)
        booking = await _locked(session, event.booking_id)
        if booking is None:
            return
        # Events from before payment named its refunds are named by the event itself.
        refund_id = event.refund_id or f"event:{envelope.event_id}"
        # When payment made the refund, not when booking heard of it.
        refunded_at = envelope.occurred_at
        first_time = await session.scalar(
            insert(BookingRefund)
            .values(
                booking_id=booking.id,
                refund_id=refund_id,
                amount=event.amount,
                currency=event.currency,
                refunded_to=event.refunded_to,
                refunded_at=refunded_at,
            )
            .on_conflict_do_nothing()
            .returning(BookingRefund.refund_id)
        )
        if first_time is None:
            return
        contact = booking.contact
        _emit(
            session,
            booking,
            BookingRefundCompleted(
                booking_id=booking.id,
                reference=booking.reference,
                traveler_id=booking.traveler_id,
                provider_id=booking.provider_id,
                listing_id=booking.listing_id,
                listing_title=booking.listing_title,
                starts_at=booking.starts_at,
                timezone=booking.timezone,
                contact_name=str(contact["name"]),
                contact_email=str(contact["email"]),
                contact_phone=contact.get("phone"),
                amount=event.amount,
                currency=event.currency,
                refunded_to=event.refunded_to,
                refund_id=refund_id,
                payment_intent_id=event.payment_intent_id,
                refunded_at=refunded_at,
            ),
        )
        if booking.status == "cancelled":
            move(session, booking, "refunded", actor=SYSTEM, at=clock.now(), reason=booking.status_reason)

    return ConsumerSpec(
        name="booking.saga",
        topics=(topic_for("payment"), topic_for("inventory")),
        handlers=dict(
            [
                ((PaymentSucceeded.event_type, PaymentSucceeded.event_version), on_payment_succeeded),
                handles(PaymentFailed, on_payment_failed),
                ((PaymentRefunded.event_type, PaymentRefunded.event_version), on_payment_refunded),
                handles(HoldExpired, on_hold_expired),
                handles(SeatsConfirmed, on_seats_confirmed),
                handles(SeatsUnavailable, on_seats_unavailable),
            ]
        ),
    )
