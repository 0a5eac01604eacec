"""Cancelling a booking: settle by the policy it was made under, put its seats back on sale,
and have payment refund what is owed, all decided in one transaction."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.domain import may_see
from services.booking.bookings.models import Booking
from services.booking.bookings.service import PRODUCER
from services.booking.cancellations.domain import CancellationPolicy, CancelledBy, settle
from services.booking.cancellations.schemas import CancelRequest
from services.booking.history.service import Actor, Origin, move
from services.booking.modifications.service import applied_changes
from services.booking.settings import BookingSettings
from shared.clock import Clock
from shared.contracts.booking import BookingCancelled, BookingRefundRequested, BookingSeatsReleased
from shared.contracts.inventory import SlotsBlackedOut
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity

# A traveler or provider cancels a booking that is still to be paid or is confirmed; the
# other moves into `cancelled` are the saga's own.
CANCELLABLE = ("pending_payment", "confirmed")


async def cancel_booking(
    session: AsyncSession,
    *,
    booking_id: UUID,
    actor: Identity,
    origin: Origin,
    request: CancelRequest,
    settings: BookingSettings,
    clock: Clock,
) -> Booking:
    """The traveler's cancellation refunds by the policy; the provider's (or an admin's, on
    the provider's behalf) refunds everything plus a credit. 409 once the booking has started,
    unless the provider did not show up."""
    booking = await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None or not may_see(booking, actor):
        raise NotFound("No such booking.")
    cancelled_by: CancelledBy = "traveler" if actor.user_id == booking.traveler_id else "provider"
    if request.provider_no_show and cancelled_by != "provider":
        raise InvalidInput("Only the provider reports that they did not show up.", details={"provider_no_show": True})
    if booking.status not in CANCELLABLE:
        raise Conflict(
            f"A {booking.status} booking is not cancelled by hand.",
            error_code="INVALID_TRANSITION",
            details={"from": booking.status, "to": "cancelled"},
        )
    now = clock.now()
    if now >= booking.starts_at and not request.provider_no_show:
        raise Conflict("The booking has started; it can no longer be cancelled.", error_code="BOOKING_STARTED")

    credit = settings.provider_no_show_credit if request.provider_no_show else settings.provider_cancellation_credit
    cancel_by_policy(
        session,
        booking,
        cancelled_by=cancelled_by,
        actor=Actor.of(actor, booking, origin=origin),
        reason=request.reason,
        provider_credit=credit,
        calendar_sequence=await applied_changes(session, booking.id) + 1,
        now=now,
    )
    await session.commit()
    return booking


async def cancel_blacked_out_bookings(
    session: AsyncSession, *, blackout: SlotsBlackedOut, settings: BookingSettings, now: datetime
) -> list[Booking]:
    """The day will not happen: every live booking on the blackout's slots is cancelled as
    its provider's cancellation (everything refunded, the provider-cancellation credit), in
    the caller's transaction. A booking already cancelled stays as it is."""
    bookings = (
        await session.scalars(
            select(Booking)
            .where(Booking.slot_id.in_(blackout.slots_closed), Booking.status.in_(CANCELLABLE))
            .order_by(Booking.id)
            .with_for_update()
        )
    ).all()
    # A listing's blackout is its provider's; one of every listing, the platform's on their behalf.
    role = "provider" if blackout.listing_id is not None else "admin"
    for booking in bookings:
        cancel_by_policy(
            session,
            booking,
            cancelled_by="provider",
            actor=Actor(role=role, user_id=blackout.created_by or booking.provider_id),
            reason=blackout_reason(blackout.reason),
            provider_credit=settings.provider_cancellation_credit,
            calendar_sequence=await applied_changes(session, booking.id) + 1,
            now=now,
            blackout=blackout,
        )
    return list(bookings)


def blackout_reason(reason: str) -> str:
    """What the booking's history and the traveler's email say: the date was blacked out, and why."""
    return f"the date was blacked out: {reason}"


def cancel_by_policy(
    session: AsyncSession,
    booking: Booking,
    *,
    cancelled_by: CancelledBy,
    actor: Actor,
    reason: str,
    provider_credit: Decimal,
    calendar_sequence: int,
    now: datetime,
    blackout: SlotsBlackedOut | None = None,
) -> None:
    """Cancel a locked booking in the caller's transaction: settle what was paid (the deposit,
    and the balance once paid) by its policy, put its seats back on sale, have payment refund.
    `blackout` is the blackout that cancels it, if one does."""
    was_paid, was_confirmed = booking.paid_at is not None, booking.status == "confirmed"
    settlement = settle(
        paid=booking.amount_paid,
        policy=CancellationPolicy.model_validate(booking.cancellation_policy),
        before_start=booking.starts_at - now,
        cancelled_by=cancelled_by,
        provider_credit=provider_credit,
        currency=booking.currency,
    )
    move(
        session,
        booking,
        "cancelled",
        actor=actor,
        at=now,
        reason=reason,
        extra={
            "refund_amount": (booking.refund_amount, settlement.refund),
            "credit_amount": (booking.credit_amount, settlement.credit),
        },
    )
    booking.cancelled_by, booking.cancelled_at = cancelled_by, now
    booking.refund_amount, booking.credit_amount = settlement.refund, settlement.credit
    _emit(
        session,
        booking,
        BookingCancelled(
            booking_id=booking.id,
            reference=booking.reference,
            traveler_id=booking.traveler_id,
            provider_id=booking.provider_id,
            listing_id=booking.listing_id,
            listing_title=booking.listing_title,
            slot_id=booking.slot_id,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            timezone=booking.timezone,
            seats=booking.seats,
            contact_name=str(booking.contact["name"]),
            contact_email=str(booking.contact["email"]),
            cancelled_by=cancelled_by,
            reason=reason,
            was_confirmed=was_confirmed,
            was_paid=was_paid,
            refund=settlement.refund,
            credit=settlement.credit,
            currency=booking.currency,
            cancelled_at=now,
            calendar_sequence=calendar_sequence,
            contact_phone=booking.contact.get("phone"),
            blackout_id=blackout.blackout_id if blackout else None,
            blackout_reason=blackout.reason if blackout else None,
        ),
    )
    # Back on sale at once: the hold of an unpaid booking is released, a paid one's seats returned.
    _emit(
        session,
        booking,
        BookingSeatsReleased(
            booking_id=booking.id,
            hold_id=booking.hold_id,
            slot_id=booking.slot_id,
            seats=booking.seats,
            reason=f"cancelled by the {cancelled_by}",
        ),
    )
    if settlement.refund > 0:
        _emit(
            session,
            booking,
            BookingRefundRequested(
                booking_id=booking.id,
                amount=settlement.refund,
                currency=booking.currency,
                reason=f"{cancelled_by}_cancellation",
                payment_intent_id=booking.payment_intent_id,
            ),
        )


def _emit(
    session: AsyncSession, booking: Booking, event: BookingCancelled | BookingSeatsReleased | BookingRefundRequested
) -> None:
    add_event(session, event, producer=PRODUCER, key=str(booking.id))
