"""Modifying a confirmed booking: the new seats are held first, re-priced, paid for when the
change charges something now, and sold by inventory; only then does the booking move, give its
old seats back and have its money re-split (modifications/domain.py): a refund, a new balance.
Until then the booking stands as it was."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.balances.domain import DepositTerms
from services.booking.bookings.domain import may_see
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import Money, PaymentOut
from services.booking.bookings.service import PRODUCER, hold_seats, release_hold_or_let_lapse
from services.booking.history.service import Actor, Origin, record_change
from services.booking.modifications.domain import Account, plan_change
from services.booking.modifications.models import OPEN_STATUSES, BookingModification
from services.booking.modifications.schemas import ModificationOut, ModificationRequest
from services.booking.upstreams.binding import Upstreams
from shared.clock import Clock
from shared.contracts.booking import BookingPaymentReceived
from shared.contracts.inventory_api import HoldDetails, Party
from shared.contracts.payment_api import PaymentIntentRequest
from shared.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity

PARTY = ("adults", "children", "infants")


def modification_out(modification: BookingModification, *, viewer: Identity) -> ModificationOut:
    """The change as `viewer` sees it: the client secret that pays it only for the traveler who
    asked for it, never for the provider or ops reading the booking."""
    secret = modification.client_secret if viewer.user_id == modification.requested_by else None
    payment = (
        PaymentOut(payment_intent_id=modification.payment_intent_id, client_secret=secret)
        if modification.payment_intent_id
        else None
    )
    return ModificationOut(
        id=modification.id,
        booking_id=modification.booking_id,
        number=modification.number,
        status=modification.status,
        reason=modification.reason,
        slot_id=modification.new_slot_id,
        timezone=modification.timezone,
        starts_at=modification.new_starts_at,
        ends_at=modification.new_ends_at,
        seats=modification.new_seats,
        total=Money(amount=modification.new_total, currency=modification.currency),
        difference=modification.difference,
        amount_due_now=Money(amount=modification.charge, currency=modification.currency),
        refund=Money(amount=modification.refund, currency=modification.currency),
        balance=Money(amount=modification.balance, currency=modification.currency),
        balance_due_at=modification.balance_due_at,
        payment=payment,
        expires_at=modification.expires_at,
        created_at=modification.created_at,
        **modification.new_party,
    )


async def request_modification(
    session: AsyncSession,
    *,
    booking_id: UUID,
    traveler: Identity,
    origin: Origin,
    request: ModificationRequest,
    upstreams: Upstreams,
    deposit_terms: DepositTerms,
    clock: Clock,
) -> BookingModification:
    """Hold the new seats and record the modification; one that charges something now waits
    for its payment, any other goes straight to inventory. 409 SOLD_OUT (from inventory) when
    the new seats are not there: nothing changes and nothing is charged."""
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(booking, traveler):
        raise NotFound("No such booking.")
    if booking.traveler_id != traveler.user_id:
        raise Forbidden("Only the traveler changes their booking.")
    _check_modifiable(booking, now=clock.now())
    old_party = {field: getattr(booking, field) for field in PARTY}
    new_party = {
        field: old if getattr(request, field) is None else getattr(request, field) for field, old in old_party.items()
    }
    new_slot_id = request.slot_id or booking.slot_id
    if new_slot_id == booking.slot_id and new_party == old_party:
        raise InvalidInput("That is the booking as it is; nothing to change.", details={"slot_id": str(new_slot_id)})
    if await open_modification(session, booking.id) is not None:
        raise _in_progress(booking)

    hold = await hold_seats(upstreams.inventory, slot_id=new_slot_id, party=Party.model_validate(new_party))

    async def give_up(error: AppError) -> AppError:
        await release_hold_or_let_lapse(upstreams.inventory, hold.id)
        return error

    if hold.listing_id != booking.listing_id or hold.quote.currency != booking.currency:
        raise await give_up(
            InvalidInput(
                "A booking moves only to another slot of its own listing.", details={"slot_id": str(new_slot_id)}
            )
        )
    try:
        modification = await _record(
            session,
            booking=booking,
            hold=hold,
            new_party=new_party,
            request=request,
            actor=Actor.of(traveler, booking, origin=origin),
            deposit_terms=deposit_terms,
            now=clock.now(),
        )
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise await give_up(_in_progress(booking)) from None
    if modification.status == "pending_payment":
        try:
            intent = await upstreams.payment.create_intent(
                PaymentIntentRequest(
                    booking_id=booking.id,
                    provider_id=booking.provider_id,
                    category=booking.category,
                    purpose=modification.payment_purpose,
                    amount=modification.charge,
                    currency=booking.currency,
                )
            )
        except AppError as error:
            modification.status, modification.ended_at = "failed", clock.now()
            await session.commit()
            raise await give_up(error) from None
        modification.payment_intent_id = intent.payment_intent_id
        modification.client_secret = intent.client_secret
        await session.commit()
    return modification


def _check_modifiable(booking: Booking, *, now: datetime) -> None:
    if booking.status != "confirmed":
        raise Conflict(
            f"A {booking.status} booking cannot be changed; only a confirmed one.",
            error_code="BOOKING_NOT_MODIFIABLE",
            details={"status": booking.status},
        )
    if booking.starts_at <= now:
        raise Conflict("The booking has started; it can no longer be changed.", error_code="BOOKING_STARTED")


def _in_progress(booking: Booking) -> Conflict:
    return Conflict(
        "This booking is already being changed; finish or let that change lapse first.",
        error_code="MODIFICATION_IN_PROGRESS",
        details={"booking_id": str(booking.id)},
    )


async def open_modification(session: AsyncSession, booking_id: UUID) -> BookingModification | None:
    return await session.scalar(
        select(BookingModification).where(
            BookingModification.booking_id == booking_id, BookingModification.status.in_(OPEN_STATUSES)
        )
    )


async def _record(
    session: AsyncSession,
    *,
    booking: Booking,
    hold: HoldDetails,
    new_party: dict[str, int],
    request: ModificationRequest,
    actor: Actor,
    deposit_terms: DepositTerms,
    now: datetime,
) -> BookingModification:
    """The modification and its audit entry, in one transaction; one that charges nothing now
    asks inventory to sell the new seats at once. The booking row is locked and checked again: a
    cancellation or another change may have come in while the seats were being held."""
    await session.scalar(
        select(Booking).where(Booking.id == booking.id).with_for_update().execution_options(populate_existing=True)
    )
    _check_modifiable(booking, now=now)
    number = (
        await session.scalar(
            select(func.coalesce(func.max(BookingModification.number), 0)).where(
                BookingModification.booking_id == booking.id
            )
        )
        or 0
    ) + 1
    new_total = hold.quote.total
    new_starts_at = hold.starts_at
    split = plan_change(
        account_of(booking),
        new_total=new_total,
        now=now,
        latest_due_at=new_starts_at - deposit_terms.due_before,
    )
    modification = BookingModification(
        booking_id=booking.id,
        number=number,
        status="pending_payment" if split.charge_now > 0 else "confirming",
        reason=request.reason,
        requested_by=actor.user_id,
        old_slot_id=booking.slot_id,
        old_hold_id=booking.hold_id,
        old_party={field: getattr(booking, field) for field in PARTY},
        old_total=booking.total,
        new_slot_id=hold.slot_id,
        new_hold_id=hold.id,
        new_party=new_party,
        new_seats=hold.seats,
        new_total=new_total,
        new_quote=hold.quote.model_dump(mode="json"),
        new_starts_at=new_starts_at,
        timezone=booking.timezone,
        new_ends_at=hold.ends_at,
        difference=new_total - booking.total,
        charge=split.charge_now,
        refund=split.refund_now,
        balance=split.balance,
        balance_due_at=split.balance_due_at if split.balance > 0 else None,
        currency=booking.currency,
        expires_at=hold.expires_at,
        created_at=now,
    )
    session.add(modification)
    record_change(
        session,
        booking=booking,
        action="modification_requested",
        changes={
            "slot_id": (booking.slot_id, modification.new_slot_id),
            **{field: (getattr(booking, field), new_party[field]) for field in PARTY},
            "total": (booking.total, new_total),
        },
        actor=actor,
        at=now,
        reason=request.reason,
    )
    if modification.status == "confirming":
        ask_inventory_to_sell(session, modification)
    return modification


def account_of(booking: Booking) -> Account:
    """A booking's money as the change rules read it."""
    owed = booking.balance_amount if booking.balance_amount is not None and booking.balance_paid_at is None else None
    return Account(
        currency=booking.currency,
        total=booking.total,
        paid=booking.amount_paid,
        balance=owed or Decimal(0),
        balance_due_at=booking.balance_due_at,
    )


def ask_inventory_to_sell(session: AsyncSession, modification: BookingModification) -> None:
    add_event(
        session,
        BookingPaymentReceived(
            booking_id=modification.booking_id,
            hold_id=modification.new_hold_id,
            slot_id=modification.new_slot_id,
            seats=modification.new_seats,
        ),
        producer=PRODUCER,
        key=str(modification.booking_id),
    )


async def list_modifications(session: AsyncSession, *, booking_id: UUID, viewer: Identity) -> list[BookingModification]:
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(booking, viewer):
        raise NotFound("No such booking.")
    rows = await session.scalars(
        select(BookingModification)
        .where(BookingModification.booking_id == booking_id)
        .order_by(BookingModification.number)
    )
    return list(rows.all())


async def applied_changes(session: AsyncSession, booking_id: UUID) -> int:
    """How many modifications a booking has had applied (its calendar invite's sequence)."""
    count = await session.scalar(
        select(func.count()).where(
            BookingModification.booking_id == booking_id, BookingModification.status == "applied"
        )
    )
    return int(count or 0)
