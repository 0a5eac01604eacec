"""Modifications on events: the change's charge paid → the new seats sold → the booking moves,
gives its old seats back and has its money re-split; or the change lapses or fails, and the
booking stays as it was."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.balances.domain import DepositTerms
from services.booking.bookings.models import Booking
from services.booking.bookings.service import PRODUCER
from services.booking.history.service import SYSTEM, record_change
from services.booking.modifications.domain import ChangeSplit, settle_change
from services.booking.modifications.models import BookingModification
from services.booking.modifications.service import (
    PARTY,
    account_of,
    applied_changes,
    ask_inventory_to_sell,
    open_modification,
)
from shared.clock import Clock
from shared.contracts.booking import (
    BookingModificationFailed,
    BookingModified,
    BookingRefundRequested,
    BookingSeatsReleased,
)
from shared.contracts.inventory import HoldExpired, SeatsConfirmed, SeatsUnavailable
from shared.contracts.payment import PaymentSucceeded
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import EventPayload, topic_for
from shared.events.outbox import add_event


def _emit(session: AsyncSession, modification: BookingModification, event: EventPayload) -> None:
    add_event(session, event, producer=PRODUCER, key=str(modification.booking_id))


async def _by_new_hold(session: AsyncSession, hold_id: UUID) -> BookingModification | None:
    return await session.scalar(
        select(BookingModification).where(BookingModification.new_hold_id == hold_id).with_for_update()
    )


async def _locked_booking(session: AsyncSession, booking_id: UUID) -> Booking:
    booking = await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    assert booking is not None
    return booking


def _resplit(booking: Booking, split: ChangeSplit, *, now: datetime) -> None:
    """Write a settled change's money to the booking. `amount_due_now` is what was paid up
    front (the deposit, or everything) as the change leaves it, `balance_amount` the balance:
    owed while `balance_paid_at` is empty, else what of it was paid (a refund takes from the
    up-front part first). A balance a change leaves at nothing is settled then."""
    if booking.balance_amount is None and split.balance == 0:
        booking.amount_due_now = split.paid
        return
    if split.balance > 0:
        reopened = booking.balance_paid_at is not None
        booking.amount_due_now, booking.balance_amount = split.paid, split.balance
        booking.balance_due_at, booking.balance_paid_at = split.balance_due_at, None
        # A balance already tried keeps its retry; otherwise it is charged when it falls due.
        if reopened or booking.balance_attempts == 0 or booking.balance_next_attempt_at is None:
            booking.balance_next_attempt_at = split.balance_due_at
        return
    paid_balance = min(booking.balance_amount or Decimal(0), split.paid) if booking.balance_paid_at else Decimal(0)
    booking.amount_due_now, booking.balance_amount = split.paid - paid_balance, paid_balance
    booking.balance_paid_at = booking.balance_paid_at or now
    booking.balance_next_attempt_at = None


def modifications_consumer(clock: Clock, deposit_terms: DepositTerms) -> ConsumerSpec:
    async def sell_paid_change(session: AsyncSession, event: PaymentSucceeded) -> None:
        modification = await session.scalar(
            select(BookingModification)
            .where(
                BookingModification.booking_id == event.booking_id,
                BookingModification.payment_intent_id == event.payment_intent_id,
            )
            .with_for_update()
        )
        if modification is None or modification.status not in ("pending_payment", "expired"):
            return
        booking = await _locked_booking(session, modification.booking_id)
        if modification.status == "expired" and await open_modification(session, booking.id) is not None:
            # Paid after it lapsed, and another change is under way: the money goes back.
            _emit(
                session,
                modification,
                BookingRefundRequested(
                    booking_id=booking.id,
                    amount=event.amount,
                    currency=event.currency,
                    reason=f"{modification.payment_purpose}-late",
                    payment_intent_id=event.payment_intent_id,
                ),
            )
            return
        # Paid after the hold lapsed: inventory still sells the seats if they are free.
        record_change(
            session,
            booking=booking,
            action="modification_paid",
            changes={"amount_paid": (None, event.amount)},
            actor=SYSTEM,
            at=clock.now(),
        )
        modification.status, modification.ended_at = "confirming", None
        ask_inventory_to_sell(session, modification)

    async def apply_sold_change(session: AsyncSession, event: SeatsConfirmed) -> None:
        modification = await _by_new_hold(session, event.hold_id)
        if modification is None or modification.status != "confirming":
            return
        booking = await _locked_booking(session, modification.booking_id)
        now = clock.now()
        if booking.status != "confirmed":
            # Cancelled while the change was under way: its new seats go back too.
            _fail(session, modification, booking, reason=f"the booking is {booking.status}")
            _emit(
                session,
                modification,
                BookingSeatsReleased(
                    booking_id=booking.id,
                    hold_id=modification.new_hold_id,
                    slot_id=modification.new_slot_id,
                    seats=modification.new_seats,
                    reason="modification_abandoned",
                ),
            )
            return
        old_seats = booking.seats
        split = settle_change(
            account_of(booking),
            new_total=modification.new_total,
            received=modification.charge,
            now=now,
            latest_due_at=modification.new_starts_at - deposit_terms.due_before,
        )
        record_change(
            session,
            booking=booking,
            action="modified",
            changes={
                "slot_id": (booking.slot_id, modification.new_slot_id),
                "starts_at": (booking.starts_at, modification.new_starts_at),
                **{field: (getattr(booking, field), modification.new_party[field]) for field in PARTY},
                "seats": (booking.seats, modification.new_seats),
                "total": (booking.total, modification.new_total),
                "amount_paid": (booking.amount_paid, split.paid),
                "balance_owed": (account_of(booking).balance, split.balance),
            },
            actor=SYSTEM,
            at=now,
            reason=modification.reason,
        )
        booking.slot_id, booking.hold_id = modification.new_slot_id, modification.new_hold_id
        for field in PARTY:
            setattr(booking, field, modification.new_party[field])
        booking.seats, booking.quote = modification.new_seats, modification.new_quote
        booking.starts_at, booking.ends_at = modification.new_starts_at, modification.new_ends_at
        booking.total = modification.new_total
        _resplit(booking, split, now=now)
        modification.refund, modification.balance = split.refund_now, split.balance
        modification.balance_due_at = split.balance_due_at if split.balance > 0 else None
        modification.status, modification.ended_at = "applied", now
        _emit(
            session,
            modification,
            BookingSeatsReleased(
                booking_id=booking.id,
                hold_id=modification.old_hold_id,
                slot_id=modification.old_slot_id,
                seats=old_seats,
                reason="modified",
            ),
        )
        if split.refund_now > 0:
            _emit(
                session,
                modification,
                BookingRefundRequested(
                    booking_id=booking.id,
                    amount=split.refund_now,
                    currency=booking.currency,
                    reason=modification.payment_purpose,
                ),
            )
        _emit(
            session,
            modification,
            BookingModified(
                booking_id=booking.id,
                modification_id=modification.id,
                reference=booking.reference,
                traveler_id=booking.traveler_id,
                provider_id=booking.provider_id,
                listing_id=booking.listing_id,
                listing_title=booking.listing_title,
                old_slot_id=modification.old_slot_id,
                slot_id=booking.slot_id,
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                timezone=booking.timezone,
                seats=booking.seats,
                total=booking.total,
                difference=modification.difference,
                charged=split.charge_now,
                refunded=split.refund_now,
                balance=split.balance,
                balance_due_at=modification.balance_due_at,
                currency=booking.currency,
                contact_name=str(booking.contact["name"]),
                contact_email=str(booking.contact["email"]),
                modified_at=now,
                calendar_sequence=await applied_changes(session, booking.id),
            ),
        )

    async def fail_unsold_change(session: AsyncSession, event: SeatsUnavailable) -> None:
        modification = await _by_new_hold(session, event.hold_id)
        if modification is None or modification.status != "confirming":
            return
        booking = await _locked_booking(session, modification.booking_id)
        _fail(session, modification, booking, reason="the new seats were sold to someone else first")

    async def lapse_unpaid_change(session: AsyncSession, event: HoldExpired) -> None:
        modification = await _by_new_hold(session, event.hold_id)
        if modification is None or modification.status != "pending_payment":
            return
        booking = await _locked_booking(session, modification.booking_id)
        _fail(session, modification, booking, reason="the difference was not paid in time", status="expired")

    def _fail(
        session: AsyncSession,
        modification: BookingModification,
        booking: Booking,
        *,
        reason: str,
        status: str = "failed",
    ) -> None:
        """End a change that will not happen; what was paid for it goes back."""
        paid = modification.charge if status == "failed" else Decimal(0)
        modification.status, modification.ended_at = status, clock.now()
        record_change(
            session,
            booking=booking,
            action=f"modification_{status}",
            changes={"refund_amount": (None, paid)} if paid else {},
            actor=SYSTEM,
            at=clock.now(),
            reason=reason,
        )
        if paid:
            _emit(
                session,
                modification,
                BookingRefundRequested(
                    booking_id=booking.id,
                    amount=paid,
                    currency=modification.currency,
                    reason=f"{modification.payment_purpose}-failed",
                    payment_intent_id=modification.payment_intent_id,
                ),
            )
        _emit(
            session,
            modification,
            BookingModificationFailed(
                booking_id=booking.id,
                modification_id=modification.id,
                traveler_id=booking.traveler_id,
                reason=reason,
                refund=paid,
                currency=modification.currency,
                payment_intent_id=modification.payment_intent_id if not paid else None,
            ),
        )

    return ConsumerSpec(
        name="booking.modifications",
        topics=(topic_for("payment"), topic_for("inventory")),
        handlers=dict(
            [
                handles(PaymentSucceeded, sell_paid_change),
                handles(SeatsConfirmed, apply_sold_change),
                handles(SeatsUnavailable, fail_unsold_change),
                handles(HoldExpired, lapse_unpaid_change),
            ]
        ),
    )
