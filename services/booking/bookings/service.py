"""Instant bookings: from a hold to a PaymentIntent while the traveler waits; the rest of the
way (paid, seats sold, confirmed, or failed and refunded) runs on events."""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.balances.domain import DepositTerms, PaymentOption, PaymentPlan, plan_payment
from services.booking.bookings.domain import may_see, new_reference, pays
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import BookingCreate, BookingOut, Contact, Money, PaymentOut
from services.booking.history.service import SYSTEM, Actor, Origin, move, record_change
from services.booking.upstreams.binding import Upstreams
from services.booking.upstreams.inventory import InventoryClient
from services.booking.upstreams.payment import PaymentClient
from shared.clock import Clock
from shared.contracts.booking import BookingCompleted, BookingCreated, BookingNoShow
from shared.contracts.inventory_api import HoldDetails, Party
from shared.contracts.payment_api import ExpertShare, PaymentIntentRequest
from shared.errors import AppError, Conflict, Forbidden, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity

PRODUCER = "booking"

logger = logging.getLogger(__name__)


def booking_out(booking: Booking, *, viewer: Identity | None = None) -> BookingOut:
    """The booking as `viewer` sees it. The PaymentIntent's client secret, which completes
    the payment, is shown only to the traveler who pays: never to the provider, an expert or
    ops reading someone else's booking, nor where no viewer is named."""

    def in_currency(amount: Decimal | None) -> Money | None:
        return None if amount is None else Money(amount=amount, currency=booking.currency)

    return BookingOut.model_validate(
        {
            **{column: getattr(booking, column) for column in BookingOut.model_fields if hasattr(booking, column)},
            "payment": PaymentOut(
                payment_intent_id=booking.payment_intent_id,
                client_secret=booking.client_secret if pays(booking, viewer) else None,
            ),
            "refund": in_currency(booking.refund_amount),
            "credit": in_currency(booking.credit_amount),
            "credit_used": in_currency(booking.credit_used or None),
            "balance": in_currency(booking.balance_amount),
        }
    )


async def hold_seats(inventory: InventoryClient, *, slot_id: UUID, party: Party) -> HoldDetails:
    """Hold a party's seats on a slot for the traveler booking acts for, and read the hold back
    with what a booking is made from (listing, provider, quote, times, policy)."""
    placed = await inventory.place_hold(slot_id=slot_id, party=party)
    return await inventory.read_hold(placed.id)


async def release_hold_or_let_lapse(inventory: InventoryClient, hold_id: UUID) -> None:
    """Put back seats held for a booking that was not made; if inventory refuses or cannot be
    reached, the hold lapses on its own."""
    try:
        await inventory.release_hold(hold_id)
    except AppError as error:
        logger.warning("hold %s stays off sale until it expires: %s", hold_id, error.message)


async def create_booking(
    session: AsyncSession,
    *,
    traveler: Identity,
    origin: Origin,
    request: BookingCreate,
    upstreams: Upstreams,
    deposit_terms: DepositTerms,
    clock: Clock,
) -> Booking:
    if request.hold_id is not None:
        hold = await upstreams.inventory.read_hold(request.hold_id)
    else:
        assert request.slot_id is not None
        hold = await hold_seats(
            upstreams.inventory,
            slot_id=request.slot_id,
            party=Party(adults=request.adults, children=request.children, infants=request.infants),
        )
    booking = await session.scalar(select(Booking).where(Booking.hold_id == hold.id))
    if booking is None:
        booking = await record_booking(
            session,
            traveler_id=traveler.user_id,
            actor=Actor(role="traveler", user_id=traveler.user_id, origin=origin),
            hold=hold,
            contact=request.contact,
            special_requests=request.special_requests,
            payment_option=request.payment_option,
            deposit_terms=deposit_terms,
            now=clock.now(),
        )
    elif booking.traveler_id != traveler.user_id:
        raise NotFound("No such hold.")
    if booking.payment_intent_id is None:
        await attach_payment_intent(
            session,
            booking,
            payment=upstreams.payment,
            use_credit=request.use_credit,
            credit_limit=request.credit_limit,
        )
    return booking


async def attach_payment_intent(
    session: AsyncSession,
    booking: Booking,
    *,
    payment: PaymentClient,
    off_session: bool = False,
    expert: ExpertShare | None = None,
    use_credit: bool = False,
    credit_limit: Decimal | None = None,
) -> None:
    """Get the booking's PaymentIntent from payment and keep it on the booking. Off session,
    payment charges the traveler's saved card itself; the webhook moves the booking on. An
    expert's booking names the expert and their fee (`{expert_id, fee}`), which payment splits
    off its own. With `use_credit`, payment takes the traveler's credit first and the intent is
    for the rest; credit that pays it all leaves no intent, and the booking is paid at once."""
    intent = await payment.create_intent(
        PaymentIntentRequest(
            booking_id=booking.id,
            provider_id=booking.provider_id,
            category=booking.category,
            purpose=booking.payment_option,
            amount=booking.amount_due_now,
            currency=booking.currency,
            off_session=off_session,
            expert=expert,
            use_credit=use_credit,
            credit_limit=credit_limit,
        )
    )
    booking.payment_intent_id = intent.payment_intent_id
    booking.client_secret = intent.client_secret
    booking.credit_used = intent.credit_amount
    await session.commit()


async def record_booking(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    actor: Actor,
    hold: HoldDetails,
    contact: Contact,
    special_requests: str | None,
    payment_option: PaymentOption,
    now: datetime,
    deposit_terms: DepositTerms | None = None,
    alongside: Callable[[Booking], Awaitable[None]] | None = None,
) -> Booking:
    """Turn an active hold into a booking waiting for payment, with its audit entry and event,
    in one transaction. `alongside` writes what the calling use case adds to that transaction,
    and may refuse it by raising. A deposit is taken only where `deposit_terms` are given."""
    if hold.status != "active" or hold.expires_at <= now:
        raise Conflict("The hold has ended; place a new one.", error_code="HOLD_EXPIRED")
    total = hold.quote.total
    plan = (
        PaymentPlan(option="full", due_now=total)
        if deposit_terms is None
        else plan_payment(
            option=payment_option,
            total=total,
            currency=hold.quote.currency,
            starts_at=hold.starts_at,
            now=now,
            terms=deposit_terms,
        )
    )
    for _ in range(5):
        booking = Booking(
            id=uuid4(),
            reference=new_reference(now.year),
            traveler_id=traveler_id,
            provider_id=hold.provider_id,
            listing_id=hold.listing_id,
            slot_id=hold.slot_id,
            hold_id=hold.id,
            adults=hold.adults,
            children=hold.children,
            infants=hold.infants,
            seats=hold.seats,
            total=total,
            amount_due_now=plan.due_now,
            currency=hold.quote.currency,
            payment_option=plan.option,
            balance_amount=plan.balance,
            balance_due_at=plan.balance_due_at,
            balance_next_attempt_at=plan.balance_due_at,
            quote=hold.quote.model_dump(mode="json"),
            contact=contact.model_dump(),
            special_requests=special_requests,
            listing_title=hold.listing_title,
            category=hold.category,
            timezone=hold.timezone,
            starts_at=hold.starts_at,
            ends_at=hold.ends_at,
            expires_at=hold.expires_at,
            cancellation_policy=hold.cancellation_policy.model_dump(mode="json"),
        )
        session.add(booking)
        record_change(
            session,
            booking=booking,
            action="created",
            changes={"status": (None, "pending_payment"), "seats": (None, booking.seats), "total": (None, total)},
            actor=actor,
            at=now,
        )
        add_event(
            session,
            BookingCreated(
                booking_id=booking.id,
                reference=booking.reference,
                traveler_id=booking.traveler_id,
                provider_id=booking.provider_id,
                listing_id=booking.listing_id,
                slot_id=booking.slot_id,
                hold_id=booking.hold_id,
                seats=booking.seats,
                total=booking.total,
                currency=booking.currency,
            ),
            producer=PRODUCER,
            key=str(booking.id),
        )
        if alongside is not None:
            await alongside(booking)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            existing = await session.scalar(select(Booking).where(Booking.hold_id == hold.id))
            if existing is not None:
                return existing  # a concurrent request made the booking for this hold
            continue  # the reference was taken; draw another
        return booking
    raise Conflict("Could not allocate a booking reference; try again.", error_code="REFERENCE_EXHAUSTED")


async def get_booking(session: AsyncSession, *, booking_id: UUID, viewer: Identity) -> Booking:
    """The traveler's booking, or one on the provider's listing; 404 for anyone else."""
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(booking, viewer):
        raise NotFound("No such booking.")
    return booking


async def get_booking_by_reference(session: AsyncSession, *, reference: str, viewer: Identity) -> Booking:
    booking = await session.scalar(select(Booking).where(Booking.reference == reference.upper()))
    if booking is None or not may_see(booking, viewer):
        raise NotFound("No such booking.")
    return booking


async def list_bookings(
    session: AsyncSession, *, viewer: Identity, limit: int, cursor: str | None
) -> tuple[list[Booking], str | None]:
    query = select(Booking)
    if not viewer.is_admin:
        query = query.where((Booking.traveler_id == viewer.user_id) | (Booking.provider_id == viewer.user_id))
    if cursor:
        query = query.where(Booking.reference > cursor)
    rows = list((await session.scalars(query.order_by(Booking.reference).limit(limit + 1))).all())
    return rows[:limit], (rows[limit - 1].reference if len(rows) > limit else None)


async def complete_finished_bookings(
    session_factory: async_sessionmaker[AsyncSession], *, clock: Clock, batch_size: int = 200
) -> int:
    """Confirmed bookings whose slot has ended become completed, each with an event; returns
    how many. Rows another run holds are skipped, so several processes can run it."""
    now = clock.now()
    async with session_factory() as session, session.begin():
        finished = (
            await session.scalars(
                select(Booking)
                .where(Booking.status == "confirmed", Booking.ends_at <= now)
                .order_by(Booking.ends_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for booking in finished:
            move(session, booking, "completed", actor=SYSTEM, at=now, reason="the slot has ended")
            add_event(
                session,
                BookingCompleted(
                    booking_id=booking.id,
                    traveler_id=booking.traveler_id,
                    provider_id=booking.provider_id,
                    listing_id=booking.listing_id,
                    completed_at=now,
                ),
                producer=PRODUCER,
                key=str(booking.id),
            )
    return len(finished)


async def mark_no_show(
    session: AsyncSession, *, booking_id: UUID, actor: Identity, origin: Origin, clock: Clock
) -> Booking:
    """The provider (or an admin) reports that the traveler did not turn up, once the booking
    has started. The traveler may see the booking but not do this: 403."""
    booking = await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None or not may_see(booking, actor):
        raise NotFound("No such booking.")
    if actor.user_id != booking.provider_id and not actor.is_admin:
        raise Forbidden("Only the provider reports a no-show.")
    now = clock.now()
    if now < booking.starts_at:
        raise Conflict("The booking has not started yet.", error_code="BOOKING_NOT_STARTED")
    move(
        session,
        booking,
        "no_show",
        actor=Actor.of(actor, booking, origin=origin),
        at=now,
        reason="the traveler did not show up",
    )
    add_event(
        session,
        BookingNoShow(
            booking_id=booking.id,
            traveler_id=booking.traveler_id,
            provider_id=booking.provider_id,
            listing_id=booking.listing_id,
            reported_by=actor.user_id,
            reported_at=now,
        ),
        producer=PRODUCER,
        key=str(booking.id),
    )
    await session.commit()
    return booking
