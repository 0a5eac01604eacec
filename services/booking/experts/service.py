"""Expert-assisted trips: a traveler hands a trip to an expert, who accepts it, plans the
trip's items and completes it for the traveler to approve (which makes those items bookable);
an expert with the personal-assistant privilege and the traveler's grant books for them,
charged to the traveler's saved card."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Select, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import BookingOut, Contact, Money, PaymentOut
from services.booking.bookings.service import (
    PRODUCER,
    attach_payment_intent,
    booking_out,
    hold_seats,
    record_booking,
    release_hold_or_let_lapse,
)
from services.booking.experts.domain import (
    ACTIONS,
    BOOKABLE,
    Charge,
    GrantTerms,
    HandoffAction,
    check_transition,
    expert_fee,
    refusal_to_book,
)
from services.booking.experts.models import ExpertBooking, ExpertGrant, ExpertHandoff, ExpertProfile
from services.booking.experts.schemas import (
    BookOnBehalf,
    ExpertProfileOut,
    ExpertProfileUpdate,
    GrantCreate,
    GrantOut,
    HandoffBookingOut,
    HandoffCreate,
    HandoffOut,
)
from services.booking.history.service import SYSTEM, Actor, Origin, move
from services.booking.trips.models import Trip, TripItem
from services.booking.upstreams.binding import UpstreamPools
from shared.clock import Clock
from shared.contracts.booking import (
    BookedOnBehalf,
    BookingSeatsReleased,
    HandoffAccepted,
    HandoffApproved,
    HandoffCancelled,
    HandoffCompleted,
    HandoffDeclined,
    HandoffEvent,
    HandoffRequested,
)
from shared.contracts.inventory_api import HoldDetails, Party
from shared.contracts.payment_api import ExpertShare
from shared.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity

# Bookings whose total the traveler pays or has paid: they count against a grant's limit.
SPENDING_STATUSES = ("pending_payment", "confirmed", "completed", "no_show")

RowT = TypeVar("RowT", ExpertHandoff, ExpertGrant)


# Experts' privileges (admins)


async def set_profile(
    session: AsyncSession, *, expert_id: UUID, request: ExpertProfileUpdate, admin: Identity, clock: Clock
) -> ExpertProfile:
    values = {
        "personal_assistant": request.personal_assistant,
        "fee_percentage": request.fee_percentage,
        "updated_by": admin.user_id,
        "updated_at": clock.now(),
    }
    upsert = (
        insert(ExpertProfile)
        .values(expert_id=expert_id, **values)
        .on_conflict_do_update(index_elements=[ExpertProfile.expert_id], set_=values)
        .returning(ExpertProfile)
        .execution_options(populate_existing=True)
    )
    profile = (await session.scalars(upsert)).one()
    await session.commit()
    return profile


async def get_profile(session: AsyncSession, *, expert_id: UUID) -> ExpertProfile | None:
    return await session.get(ExpertProfile, expert_id)


def profile_out(profile: ExpertProfile | None, *, expert_id: UUID, default_fee_percentage: Decimal) -> ExpertProfileOut:
    """An expert nobody has set up yet has no privilege and the platform's fee."""
    if profile is None:
        return ExpertProfileOut(
            expert_id=expert_id,
            personal_assistant=False,
            fee_percentage=None,
            effective_fee_percentage=default_fee_percentage,
            updated_by=None,
            updated_at=None,
        )
    return ExpertProfileOut(
        expert_id=profile.expert_id,
        personal_assistant=profile.personal_assistant,
        fee_percentage=profile.fee_percentage,
        effective_fee_percentage=_fee_of(profile, default_fee_percentage),
        updated_by=profile.updated_by,
        updated_at=profile.updated_at,
    )


def _fee_of(profile: ExpertProfile | None, default_fee_percentage: Decimal) -> Decimal:
    if profile is None or profile.fee_percentage is None:
        return default_fee_percentage
    return profile.fee_percentage


# Travelers' grants


async def give_grant(session: AsyncSession, *, traveler: Identity, request: GrantCreate, clock: Clock) -> GrantOut:
    """Let an expert book for the traveler; the grant in force to that expert, if any, is
    revoked by this one."""
    now = clock.now()
    if request.expert_id == traveler.user_id:
        raise InvalidInput("A grant is for someone else.", details={"expert_id": str(request.expert_id)})
    if request.expires_at is not None and request.expires_at <= now:
        raise InvalidInput("The grant would have expired already.", details={"expires_at": str(request.expires_at)})
    current = await session.scalar(_grant_in_force(traveler.user_id, request.expert_id).with_for_update())
    if current is not None:
        current.revoked_at = now
        await session.flush()  # out of the way of the one-grant-in-force index before the insert
    grant = ExpertGrant(
        traveler_id=traveler.user_id,
        expert_id=request.expert_id,
        spending_limit=request.spending_limit.amount if request.spending_limit else None,
        currency=request.spending_limit.currency if request.spending_limit else None,
        expires_at=request.expires_at,
        granted_at=now,
    )
    session.add(grant)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("Another grant to this expert was given at the same time; try again.") from None
    return grant_out(grant, spent=Decimal(0), now=now)


def _grant_in_force(traveler_id: UUID, expert_id: UUID) -> Select[ExpertGrant]:
    return select(ExpertGrant).where(
        ExpertGrant.traveler_id == traveler_id, ExpertGrant.expert_id == expert_id, ExpertGrant.revoked_at.is_(None)
    )


async def list_grants(
    session: AsyncSession, *, viewer: Identity, limit: int, cursor: str | None, clock: Clock
) -> tuple[list[GrantOut], str | None]:
    """The grants a traveler gave and those given to an expert, newest first; all for admins."""
    query = select(ExpertGrant)
    if not viewer.is_admin:
        query = query.where((ExpertGrant.traveler_id == viewer.user_id) | (ExpertGrant.expert_id == viewer.user_id))
    grants, next_cursor = await _page(session, query, ExpertGrant.granted_at, ExpertGrant.id, limit, cursor)
    spent = await _spent_under(session, [grant.id for grant in grants if grant.spending_limit is not None])
    return [grant_out(grant, spent=spent.get(grant.id, Decimal(0)), now=clock.now()) for grant in grants], next_cursor


async def revoke_grant(session: AsyncSession, *, grant_id: UUID, viewer: Identity, clock: Clock) -> None:
    """The traveler (or an admin) takes a grant back; revoking it again changes nothing. The
    expert sees the grant but cannot revoke it: 403."""
    grant = await session.scalar(select(ExpertGrant).where(ExpertGrant.id == grant_id).with_for_update())
    if grant is None or not (viewer.is_admin or viewer.user_id in (grant.traveler_id, grant.expert_id)):
        raise NotFound("No such grant.")
    if viewer.user_id != grant.traveler_id and not viewer.is_admin:
        raise Forbidden("Only the traveler who gave a grant revokes it.")
    if grant.revoked_at is None:
        grant.revoked_at = clock.now()
    await session.commit()


def grant_out(grant: ExpertGrant, *, spent: Decimal, now: datetime) -> GrantOut:
    if grant.revoked_at is not None:
        status = "revoked"
    elif grant.expires_at is not None and now >= grant.expires_at:
        status = "expired"
    else:
        status = "active"
    spending_limit = spent_so_far = None
    if grant.spending_limit is not None and grant.currency is not None:
        spending_limit = Money(amount=grant.spending_limit, currency=grant.currency)
        spent_so_far = Money(amount=spent, currency=grant.currency)
    return GrantOut(
        id=grant.id,
        traveler_id=grant.traveler_id,
        expert_id=grant.expert_id,
        status=status,
        spending_limit=spending_limit,
        spent=spent_so_far,
        expires_at=grant.expires_at,
        granted_at=grant.granted_at,
        revoked_at=grant.revoked_at,
    )


async def _spent_under(session: AsyncSession, grant_ids: Sequence[UUID]) -> dict[UUID, Decimal]:
    """What the live bookings made under each grant come to."""
    if not grant_ids:
        return {}
    rows = await session.execute(
        select(ExpertBooking.grant_id, func.sum(Booking.total))
        .join(Booking, Booking.id == ExpertBooking.booking_id)
        .where(ExpertBooking.grant_id.in_(grant_ids), Booking.status.in_(SPENDING_STATUSES))
        .group_by(ExpertBooking.grant_id)
    )
    return dict(rows.all())


# Handoffs


async def request_handoff(
    session: AsyncSession, *, traveler: Identity, request: HandoffCreate, clock: Clock
) -> ExpertHandoff:
    if request.expert_id == traveler.user_id:
        raise InvalidInput("A trip is handed to someone else.", details={"expert_id": str(request.expert_id)})
    if request.trip_id is not None:
        trip = await session.get(Trip, request.trip_id)
        if trip is None or trip.traveler_id != traveler.user_id or trip.deleted_at is not None:
            raise NotFound("No such trip.")
    now = clock.now()
    handoff = ExpertHandoff(
        traveler_id=traveler.user_id,
        traveler_email=traveler.email,
        expert_id=request.expert_id,
        description=request.description,
        start_date=request.start_date,
        end_date=request.end_date,
        budget=request.budget.amount if request.budget else None,
        currency=request.budget.currency if request.budget else None,
        trip_id=request.trip_id,
        status="requested",
        requested_at=now,
    )
    session.add(handoff)
    await session.flush()
    _emit(
        session,
        handoff,
        HandoffRequested,
        at=now,
        traveler_email=handoff.traveler_email,
        description=handoff.description,
        start_date=handoff.start_date,
        end_date=handoff.end_date,
        budget=handoff.budget,
        currency=handoff.currency,
    )
    await session.commit()
    return handoff


def _may_see(handoff: ExpertHandoff, viewer: Identity) -> bool:
    """A handoff is its traveler's and its expert's to see, and ops'."""
    return viewer.is_admin or viewer.user_id in (handoff.traveler_id, handoff.expert_id)


async def get_handoff(session: AsyncSession, *, handoff_id: UUID, viewer: Identity) -> ExpertHandoff:
    handoff = await session.get(ExpertHandoff, handoff_id)
    if handoff is None or not _may_see(handoff, viewer):
        raise NotFound("No such handoff.")
    return handoff


async def _locked_handoff(session: AsyncSession, *, handoff_id: UUID, viewer: Identity) -> ExpertHandoff:
    handoff = await session.scalar(
        select(ExpertHandoff)
        .where(ExpertHandoff.id == handoff_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if handoff is None or not _may_see(handoff, viewer):
        raise NotFound("No such handoff.")
    return handoff


async def list_handoffs(
    session: AsyncSession, *, viewer: Identity, status: str | None, limit: int, cursor: str | None
) -> tuple[list[ExpertHandoff], str | None]:
    """The trips a traveler handed off and those handed to an expert, newest first."""
    query = select(ExpertHandoff)
    if not viewer.is_admin:
        query = query.where((ExpertHandoff.traveler_id == viewer.user_id) | (ExpertHandoff.expert_id == viewer.user_id))
    if status is not None:
        query = query.where(ExpertHandoff.status == status)
    return await _page(session, query, ExpertHandoff.requested_at, ExpertHandoff.id, limit, cursor)


async def act_on_handoff(
    session: AsyncSession,
    *,
    handoff_id: UUID,
    actor: Identity,
    action: HandoffAction,
    reason: str | None,
    default_fee_percentage: Decimal,
    clock: Clock,
) -> ExpertHandoff:
    """Move a handoff: the expert accepts, declines or completes it; the traveler approves or
    cancels it. The other party (or an admin) may see it but not do this: 403."""
    handoff = await _locked_handoff(session, handoff_id=handoff_id, viewer=actor)
    party, target = ACTIONS[action]
    if actor.user_id != (handoff.expert_id if party == "expert" else handoff.traveler_id):
        raise Forbidden(f"Only the handoff's {party} can {action} it.")
    check_transition(handoff.status, target)
    now = clock.now()
    handoff.status = target
    if action == "accept":
        profile = await session.get(ExpertProfile, handoff.expert_id)
        handoff.fee_percentage = _fee_of(profile, default_fee_percentage)
        handoff.accepted_at = now
        if handoff.trip_id is None:
            handoff.trip_id = await _trip_for(session, handoff, now=now)
        _emit(session, handoff, HandoffAccepted, at=now, fee_percentage=handoff.fee_percentage)
    elif action == "complete":
        handoff.completed_at = now
        _emit(session, handoff, HandoffCompleted, at=now)
    elif action == "approve":
        handoff.approved_at = now
        # The traveler approves the expert's items with the handoff: checkout may book them now.
        await session.execute(
            update(TripItem)
            .where(TripItem.handoff_id == handoff.id, TripItem.added_by == "expert", TripItem.approved_at.is_(None))
            .values(approved_at=now, updated_at=now)
        )
        _emit(session, handoff, HandoffApproved, at=now)
    else:
        handoff.status_reason, handoff.closed_at = reason, now
        # What the expert proposed and the traveler did not approve goes with the handoff.
        await session.execute(
            delete(TripItem).where(
                TripItem.handoff_id == handoff.id,
                TripItem.added_by == "expert",
                TripItem.approved_at.is_(None),
                TripItem.cart_item_id.is_(None),
            )
        )
        _emit(session, handoff, HandoffDeclined if action == "decline" else HandoffCancelled, at=now, reason=reason)
    await session.commit()
    return handoff


async def _trip_for(session: AsyncSession, handoff: ExpertHandoff, *, now: datetime) -> UUID:
    """A trip for the expert to plan, made from the handoff's details: its dates (from the day
    it is accepted when it names none) and the first line of its description as the title."""
    start = handoff.start_date or now.date()
    trip = Trip(
        traveler_id=handoff.traveler_id,
        traveler_email=handoff.traveler_email,
        title=handoff.description.strip().splitlines()[0][:200],
        destinations=[],
        start_date=start,
        end_date=max(handoff.end_date or start, start),
        travelers=1,
        timezone="UTC",
        status="expert_review",
        share_shows_prices=True,
        calendar_token_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(trip)
    await session.flush()
    return trip.id


async def handoffs_out(session: AsyncSession, handoffs: Sequence[ExpertHandoff]) -> list[HandoffOut]:
    """The handoffs as the API shows them, each with the bookings made through it."""
    made = await session.execute(
        select(ExpertBooking, Booking.reference, Booking.status, Booking.total)
        .join(Booking, Booking.id == ExpertBooking.booking_id)
        .where(ExpertBooking.handoff_id.in_([handoff.id for handoff in handoffs]))
        .order_by(ExpertBooking.booked_at)
    )
    bookings: dict[UUID, list[HandoffBookingOut]] = {handoff.id: [] for handoff in handoffs}
    for record, reference, status, total in made.all():
        bookings[record.handoff_id].append(
            HandoffBookingOut(
                booking_id=record.booking_id,
                reference=reference,
                status=status,
                total=total,
                expert_fee=record.expert_fee,
                currency=record.currency,
                booked_at=record.booked_at,
            )
        )
    return [
        HandoffOut(
            id=handoff.id,
            traveler_id=handoff.traveler_id,
            expert_id=handoff.expert_id,
            description=handoff.description,
            start_date=handoff.start_date,
            end_date=handoff.end_date,
            budget=Money(amount=handoff.budget, currency=handoff.currency)
            if handoff.budget is not None and handoff.currency is not None
            else None,
            status=handoff.status,
            status_reason=handoff.status_reason,
            trip_id=handoff.trip_id,
            fee_percentage=handoff.fee_percentage,
            requested_at=handoff.requested_at,
            accepted_at=handoff.accepted_at,
            completed_at=handoff.completed_at,
            approved_at=handoff.approved_at,
            closed_at=handoff.closed_at,
            bookings=bookings[handoff.id],
        )
        for handoff in handoffs
    ]


def _emit(
    session: AsyncSession, handoff: ExpertHandoff, event: type[HandoffEvent], *, at: datetime, **fields: object
) -> None:
    add_event(
        session,
        event.model_validate(
            {"handoff_id": handoff.id, "traveler_id": handoff.traveler_id, "expert_id": handoff.expert_id, "at": at}
            | fields
        ),
        producer=PRODUCER,
        key=str(handoff.id),
    )


# Booking on the traveler's behalf


async def book_on_behalf(
    session: AsyncSession,
    *,
    handoff_id: UUID,
    expert: Identity,
    origin: Origin,
    request: BookOnBehalf,
    upstreams: UpstreamPools,
    clock: Clock,
) -> Booking:
    """Hold the seats for the traveler, book them in the traveler's name with the expert as the
    one who did it (in the booking's history too), and charge the traveler's saved card.

    Refused with 403 unless the expert has the personal-assistant privilege and the traveler's
    grant in force, within its limit; checked before the seats are held, and again, with the
    price and the grant locked, in the transaction that makes the booking."""
    handoff = await get_handoff(session, handoff_id=handoff_id, viewer=expert)
    if expert.user_id != handoff.expert_id:
        raise Forbidden("Only the handoff's expert books on the traveler's behalf.")
    await _authorize(session, handoff=handoff, charge=None, now=clock.now())
    _check_bookable(handoff)
    await session.commit()  # no transaction stays open while inventory and payment answer

    traveler = Identity(user_id=handoff.traveler_id, email=handoff.traveler_email, roles=("traveler",))
    for_traveler = upstreams.acting_for(traveler)
    hold = await hold_seats(
        for_traveler.inventory,
        slot_id=request.slot_id,
        party=Party(adults=request.adults, children=request.children, infants=request.infants),
    )
    try:
        booking = await record_booking_on_behalf(
            session, handoff=handoff, expert=expert, origin=origin, request=request, hold=hold, now=clock.now()
        )
    except Exception:
        await session.rollback()
        await release_hold_or_let_lapse(for_traveler.inventory, hold.id)
        raise
    fee = await session.scalar(select(ExpertBooking.expert_fee).where(ExpertBooking.booking_id == booking.id))
    try:
        await attach_payment_intent(
            session,
            booking,
            payment=for_traveler.payment,
            off_session=True,
            expert=ExpertShare(expert_id=expert.user_id, fee=fee),
        )
    except AppError as refused:
        await _give_up(session, booking_id=booking.id, reason=refused.message, now=clock.now())
        raise
    return booking


async def record_booking_on_behalf(
    session: AsyncSession,
    *,
    handoff: ExpertHandoff,
    expert: Identity,
    origin: Origin,
    request: BookOnBehalf,
    hold: HoldDetails,
    now: datetime,
) -> Booking:
    """The booking of `hold` for the handoff's traveler, made by the expert, in one transaction
    with the expert's fee and the event; 403 if the expert may not (any more) book it."""

    async def authorize_and_record(booking: Booking) -> None:
        # Locked, so a handoff cancelled or a grant revoked or spent meanwhile is seen, and two
        # bookings under one grant do not both fit its limit.
        current = await _locked_handoff(session, handoff_id=handoff.id, viewer=expert)
        _check_bookable(current)
        grant = await _authorize(
            session, handoff=current, charge=Charge(amount=booking.total, currency=booking.currency), now=now, lock=True
        )
        assert current.fee_percentage is not None, "fixed when the expert accepted"
        fee = expert_fee(booking.total, current.fee_percentage, booking.currency)
        booking.booked_by_expert_id = expert.user_id
        session.add(
            ExpertBooking(
                booking_id=booking.id,
                handoff_id=current.id,
                grant_id=grant.id,
                fee_percentage=current.fee_percentage,
                expert_fee=fee,
                currency=booking.currency,
                booked_at=now,
            )
        )
        _emit(
            session,
            current,
            BookedOnBehalf,
            at=now,
            grant_id=grant.id,
            booking_id=booking.id,
            reference=booking.reference,
            listing_title=booking.listing_title,
            starts_at=booking.starts_at,
            timezone=booking.timezone,
            traveler_email=current.traveler_email,
            total=booking.total,
            expert_fee=fee,
            fee_percentage=current.fee_percentage,
            currency=booking.currency,
        )

    return await record_booking(
        session,
        traveler_id=handoff.traveler_id,
        actor=Actor(role="expert", user_id=expert.user_id, origin=origin, on_behalf_of=handoff.traveler_id),
        hold=hold,
        contact=request.contact or Contact(name=handoff.traveler_email, email=handoff.traveler_email),
        special_requests=request.special_requests,
        payment_option="full",
        now=now,
        alongside=authorize_and_record,
    )


def booking_for_expert(booking: Booking) -> BookingOut:
    """The booking as the expert who made it sees it: without the client secret of the
    traveler's payment, which is theirs alone to pay with."""
    shown = booking_out(booking)
    return shown.model_copy(
        update={"payment": PaymentOut(payment_intent_id=booking.payment_intent_id, client_secret=None)}
    )


def _check_bookable(handoff: ExpertHandoff) -> None:
    if handoff.status not in BOOKABLE:
        raise Conflict(
            f"Nothing is booked through a {handoff.status} handoff.",
            error_code="HANDOFF_NOT_BOOKABLE",
            details={"status": handoff.status},
        )


async def _authorize(
    session: AsyncSession, *, handoff: ExpertHandoff, charge: Charge | None, now: datetime, lock: bool = False
) -> ExpertGrant:
    """The grant the expert books under, or 403 with the reason (the refusal's code)."""
    profile = await session.get(ExpertProfile, handoff.expert_id, populate_existing=True)
    in_force = _grant_in_force(handoff.traveler_id, handoff.expert_id).execution_options(populate_existing=True)
    grant = await session.scalar(in_force.with_for_update() if lock else in_force)
    if grant is None:
        # The latest revoked grant, so the expert is told it was taken back rather than never given.
        grant = await session.scalar(
            select(ExpertGrant)
            .where(ExpertGrant.traveler_id == handoff.traveler_id, ExpertGrant.expert_id == handoff.expert_id)
            .order_by(ExpertGrant.revoked_at.desc())
            .limit(1)
        )
    spent = Decimal(0)
    if grant is not None and grant.spending_limit is not None and charge is not None:
        spent = (await _spent_under(session, [grant.id])).get(grant.id, Decimal(0))
    refusal = refusal_to_book(
        personal_assistant=profile is not None and profile.personal_assistant,
        grant=None
        if grant is None
        else GrantTerms(
            spending_limit=grant.spending_limit,
            currency=grant.currency,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
        ),
        now=now,
        charge=charge,
        spent=spent,
    )
    if refusal is not None or grant is None:
        raise Forbidden(
            "This expert may not book for this traveler.",
            error_code=refusal or "NO_GRANT",
            details={"reason": refusal or "NO_GRANT"},
        )
    return grant


async def _give_up(session: AsyncSession, *, booking_id: UUID, reason: str, now: datetime) -> None:
    """The traveler's card could not be charged: the booking is cancelled and its seats go
    back on sale. A charge that happens anyway is refunded by the saga (paid after cancelled)."""
    await session.rollback()
    booking = await session.scalar(
        select(Booking).where(Booking.id == booking_id).with_for_update().execution_options(populate_existing=True)
    )
    if booking is None or booking.status != "pending_payment":
        return
    move(session, booking, "cancelled", actor=SYSTEM, at=now, reason=f"the traveler's card was not charged: {reason}")
    booking.cancelled_at = now
    add_event(
        session,
        BookingSeatsReleased(
            booking_id=booking.id,
            hold_id=booking.hold_id,
            slot_id=booking.slot_id,
            seats=booking.seats,
            reason="not charged to the traveler's card",
        ),
        producer=PRODUCER,
        key=str(booking.id),
    )
    await session.commit()


# Pages, newest first


async def _page(
    session: AsyncSession,
    query: Select[RowT],
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[UUID],
    limit: int,
    cursor: str | None,
) -> tuple[list[RowT], str | None]:
    """One page of `query` by (`at`, `row_id`) descending; the cursor names the page's last row."""
    if cursor:
        try:
            after_at, after_id = cursor.split("_", 1)
            position = (datetime.fromisoformat(after_at), UUID(after_id))
        except ValueError:
            raise InvalidInput("The cursor is not one this list gave.", details={"cursor": cursor}) from None
        query = query.where(tuple_(at, row_id) < position)
    rows = list((await session.scalars(query.order_by(at.desc(), row_id.desc()).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], f"{getattr(last, at.key).isoformat()}_{getattr(last, row_id.key)}"
