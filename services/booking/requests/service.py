"""Request-to-book: a traveler asks for a slot; the provider accepts (a booking to pay, its
seats held for the payment window), declines (the other open slots are listed) or
counter-offers, which the traveler accepts or lets lapse. Unanswered requests are reminded
and expire on the clock. Inventory and payment are called while the answering person waits,
before the one transaction that records the answer and its event."""

import base64
import logging
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.bookings.domain import check_party_size
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import Contact, Money
from services.booking.bookings.service import (
    PRODUCER,
    attach_payment_intent,
    record_booking,
    release_hold_or_let_lapse,
)
from services.booking.history.service import Actor, Origin
from services.booking.requests.domain import (
    OPEN,
    TAKEN_BY,
    Action,
    Deadlines,
    hold_id_for,
    next_status,
    side_of,
)
from services.booking.requests.models import BookingRequest
from services.booking.requests.schemas import (
    AlternativeSlot,
    BookingRequestCreate,
    BookingRequestOut,
    CounterOfferCreate,
    CounterOfferOut,
)
from services.booking.upstreams.binding import UpstreamPools
from services.booking.upstreams.inventory import InventoryClient
from shared.clock import Clock
from shared.contracts.booking import (
    Alternative,
    BookingRequestAccepted,
    BookingRequestCancelled,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCounterLapsed,
    BookingRequestCreated,
    BookingRequestDeclined,
    BookingRequestExpired,
    BookingRequestProviderReminded,
    BookingRequestProviderWarned,
)
from shared.contracts.inventory_api import HoldPlacementFor, Party, SlotForRequest
from shared.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from shared.events.envelope import EventPayload
from shared.events.outbox import add_event
from shared.identity import Identity
from shared.money import require_exact_amount

logger = logging.getLogger(__name__)


def traveler_of(booking_request: BookingRequest) -> Identity:
    """The request's traveler: whoever answers, the hold and the payment are the traveler's."""
    return Identity(user_id=booking_request.traveler_id, email=booking_request.traveler_email, roles=("traveler",))


def request_out(booking_request: BookingRequest) -> BookingRequestOut:
    counter = None
    if booking_request.counter_slot_id is not None:
        assert booking_request.counter_starts_at is not None
        assert booking_request.counter_ends_at is not None
        counter = CounterOfferOut(
            slot_id=booking_request.counter_slot_id,
            timezone=booking_request.timezone,
            starts_at=booking_request.counter_starts_at,
            ends_at=booking_request.counter_ends_at,
            price=None
            if booking_request.counter_price is None
            else Money(amount=booking_request.counter_price, currency=booking_request.currency),
            message=booking_request.counter_message or "",
        )
    return BookingRequestOut.model_validate(
        {
            **{
                column: getattr(booking_request, column)
                for column in BookingRequestOut.model_fields
                if hasattr(booking_request, column)
            },
            "counter_offer": counter,
        }
    )


def _facts(booking_request: BookingRequest) -> dict[str, Any]:
    """What every event of the request carries (`RequestFacts`)."""
    return {
        "request_id": booking_request.id,
        "traveler_id": booking_request.traveler_id,
        "traveler_email": booking_request.traveler_email,
        "provider_id": booking_request.provider_id,
        "provider_email": booking_request.provider_email,
        "listing_id": booking_request.listing_id,
        "listing_title": booking_request.listing_title,
        "slot_id": booking_request.slot_id,
        "starts_at": booking_request.starts_at,
        "timezone": booking_request.timezone,
        "seats": booking_request.seats,
        "contact_name": str(booking_request.contact["name"]),
        "contact_email": str(booking_request.contact["email"]),
        "requested_at": booking_request.requested_at,
    }


def _emit(session: AsyncSession, booking_request: BookingRequest, event: EventPayload) -> None:
    add_event(session, event, producer=PRODUCER, key=str(booking_request.id))


async def _slot_for(
    inventory: InventoryClient, *, slot_id: UUID, party: BookingRequestCreate | BookingRequest
) -> SlotForRequest:
    """The slot as inventory has it now for the party: its listing, the seats left, the price."""
    return await inventory.read_slot_for(
        slot_id, party=Party(adults=party.adults, children=party.children, infants=party.infants)
    )


def _check_open_for(slot: SlotForRequest, seats: int) -> None:
    if not slot.on_sale:
        raise Conflict("This slot is no longer on sale.", error_code="SLOT_CLOSED")
    if slot.available < seats:
        raise Conflict(
            "Not enough seats are left on this slot.",
            error_code="SOLD_OUT",
            details={"slot_id": str(slot.slot_id), "available": max(slot.available, 0), "requested": seats},
        )


async def create_request(
    session: AsyncSession,
    *,
    traveler: Identity,
    request: BookingRequestCreate,
    inventory: InventoryClient,
    deadlines: Deadlines,
    max_open_requests: int,
    clock: Clock,
) -> BookingRequest:
    """Ask the listing's provider for a slot: checked against inventory (a listing booked on
    request, a party within its limit, seats for the party) and against fair use (one open
    request per slot, at most `max_open_requests` open in all), then waiting for the provider
    until the answer deadline."""
    slot = await _slot_for(inventory, slot_id=request.slot_id, party=request)
    if slot.booking_mode != "request":
        raise Conflict(
            "This listing is not booked on request; book it directly instead.",
            error_code="NOT_REQUEST_BOOKABLE",
            details={"booking_mode": slot.booking_mode},
        )
    seats = request.adults + request.children + request.infants
    check_party_size(seats, max_party_size=slot.max_party_size)
    _check_open_for(slot, seats)
    await _check_fair_use(session, traveler=traveler, slot_id=request.slot_id, max_open_requests=max_open_requests)
    now = clock.now()
    booking_request = BookingRequest(
        id=uuid4(),
        traveler_id=traveler.user_id,
        traveler_email=traveler.email,
        provider_id=slot.provider_id,
        provider_email=slot.provider_email,
        listing_id=slot.listing_id,
        listing_title=slot.listing_title,
        timezone=slot.timezone,
        currency=slot.currency,
        slot_id=request.slot_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        adults=request.adults,
        children=request.children,
        infants=request.infants,
        seats=seats,
        message=request.message,
        contact=request.contact.model_dump(),
        price_estimate=slot.price.model_dump(mode="json"),
        status="pending_provider",
        requested_at=now,
        expires_at=now + deadlines.answer,
    )
    session.add(booking_request)
    quote = slot.price.quote
    _emit(
        session,
        booking_request,
        BookingRequestCreated(
            **_facts(booking_request),
            adults=request.adults,
            children=request.children,
            infants=request.infants,
            message=request.message,
            estimated_total=None if quote is None else quote.total,
            currency=booking_request.currency,
            expires_at=booking_request.expires_at,
        ),
    )
    await session.commit()
    return booking_request


async def _check_fair_use(session: AsyncSession, *, traveler: Identity, slot_id: UUID, max_open_requests: int) -> None:
    """409 REQUEST_EXISTS for a second open request of the traveler's on one slot, 409
    TOO_MANY_OPEN_REQUESTS past the cap. The traveler's lock is kept until the caller commits,
    so concurrent requests of one traveler are counted one after the other."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"booking_request:{traveler.user_id}", 0)))
    )
    open_requests = (
        await session.scalars(
            select(BookingRequest)
            .where(BookingRequest.traveler_id == traveler.user_id, BookingRequest.status.in_(OPEN))
            .order_by(BookingRequest.requested_at)
        )
    ).all()
    same_slot = next((open_request for open_request in open_requests if open_request.slot_id == slot_id), None)
    if same_slot is not None:
        raise Conflict(
            "You already have an open request for this slot.",
            error_code="REQUEST_EXISTS",
            details={"request_id": str(same_slot.id), "status": same_slot.status},
        )
    if len(open_requests) >= max_open_requests:
        raise Conflict(
            f"You have {len(open_requests)} requests waiting for an answer; withdraw one or wait for it.",
            error_code="TOO_MANY_OPEN_REQUESTS",
            details={"limit": max_open_requests, "open_request_ids": [str(item.id) for item in open_requests]},
        )


async def _request_for(session: AsyncSession, *, request_id: UUID, actor: Identity, action: Action) -> BookingRequest:
    """The request if `actor` takes `action` on it: 404 if it is not theirs to see, 403 if
    the action is the other side's, 409 if the request cannot take it now."""
    booking_request = await session.get(BookingRequest, request_id)
    side = None if booking_request is None else side_of(booking_request, actor)
    if booking_request is None or side is None:
        raise NotFound("No such booking request.")
    if side != TAKEN_BY[action]:
        raise Forbidden(f"Only the request's {TAKEN_BY[action]} may do this.")
    next_status(booking_request.status, action)
    return booking_request


async def _move(session: AsyncSession, booking_request: BookingRequest, action: Action) -> None:
    """Lock the request and move it on `action`, checked again under the lock: the other side
    (or the deadline job) may have moved it meanwhile. The lock comes before anything the use
    case added is written, so a concurrent answer is refused here rather than half-way."""
    with session.no_autoflush:
        await session.refresh(booking_request, with_for_update=True)
    booking_request.status = next_status(booking_request.status, action)


async def get_request(session: AsyncSession, *, request_id: UUID, viewer: Identity) -> BookingRequest:
    """The traveler's request, or one to the provider; 404 for anyone else."""
    booking_request = await session.get(BookingRequest, request_id)
    if booking_request is None or side_of(booking_request, viewer) is None:
        raise NotFound("No such booking request.")
    return booking_request


def _encode_cursor(booking_request: BookingRequest) -> str:
    return base64.urlsafe_b64encode(
        f"{booking_request.requested_at.isoformat()}|{booking_request.id}".encode()
    ).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        requested_at, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(requested_at), UUID(request_id)
    except ValueError:
        raise InvalidInput("The cursor is not valid.", details={"cursor": cursor}) from None


async def list_requests(
    session: AsyncSession, *, viewer: Identity, status: str | None, limit: int, cursor: str | None
) -> tuple[list[BookingRequest], str | None]:
    """The viewer's requests, newest first: a traveler's own, a provider's incoming ones."""
    query = select(BookingRequest)
    if not viewer.is_admin:
        query = query.where(
            (BookingRequest.traveler_id == viewer.user_id) | (BookingRequest.provider_id == viewer.user_id)
        )
    if status is not None:
        query = query.where(BookingRequest.status == status)
    if cursor:
        query = query.where(tuple_(BookingRequest.requested_at, BookingRequest.id) < _decode_cursor(cursor))
    query = query.order_by(BookingRequest.requested_at.desc(), BookingRequest.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], (_encode_cursor(rows[limit - 1]) if len(rows) > limit else None)


async def accept_request(
    session: AsyncSession,
    *,
    request_id: UUID,
    provider: Identity,
    origin: Origin,
    upstreams: UpstreamPools,
    payment_seconds: int,
    clock: Clock,
) -> BookingRequest:
    """The provider accepts: the seats are held for the traveler for the payment window and a
    booking waits for their payment, as an instant booking would. 409 SOLD_OUT, the request
    still pending, if the seats are gone."""
    booking_request = await _request_for(session, request_id=request_id, actor=provider, action="accept")
    return await _book(
        session,
        booking_request,
        action="accept",
        # Ops may answer for the provider; the booking's history says who it was.
        actor=Actor(
            role="provider" if provider.user_id == booking_request.provider_id else "admin",
            user_id=provider.user_id,
            origin=origin,
        ),
        upstreams=upstreams,
        payment_seconds=payment_seconds,
        clock=clock,
    )


async def accept_counter_offer(
    session: AsyncSession,
    *,
    request_id: UUID,
    traveler: Identity,
    origin: Origin,
    upstreams: UpstreamPools,
    payment_seconds: int,
    clock: Clock,
) -> BookingRequest:
    """The traveler accepts the counter-offer: like the provider's accept, on the countered
    slot at the countered price."""
    booking_request = await _request_for(session, request_id=request_id, actor=traveler, action="accept_counter")
    return await _book(
        session,
        booking_request,
        action="accept_counter",
        actor=Actor(role="traveler", user_id=traveler.user_id, origin=origin),
        upstreams=upstreams,
        payment_seconds=payment_seconds,
        clock=clock,
    )


async def _book(
    session: AsyncSession,
    booking_request: BookingRequest,
    *,
    action: Literal["accept", "accept_counter"],
    actor: Actor,
    upstreams: UpstreamPools,
    payment_seconds: int,
    clock: Clock,
) -> BookingRequest:
    countered = action == "accept_counter"
    for_traveler = upstreams.acting_for(traveler_of(booking_request))
    slot_id = booking_request.counter_slot_id if countered else booking_request.slot_id
    assert slot_id is not None
    hold = await for_traveler.inventory.place_hold_for(
        HoldPlacementFor(
            hold_id=hold_id_for(booking_request.id, action),
            slot_id=slot_id,
            holder_id=booking_request.traveler_id,
            adults=booking_request.adults,
            children=booking_request.children,
            infants=booking_request.infants,
            ttl_seconds=payment_seconds,
            agreed_total=booking_request.counter_price if countered else None,
        )
    )
    now = clock.now()

    async def mark_accepted(booking: Booking) -> None:
        await _move(session, booking_request, action)
        booking_request.booking_id = booking.id
        if not countered:
            booking_request.responded_at = now
        assert booking_request.responded_at is not None
        to_pay = {
            **_facts(booking_request),
            "booking_id": booking.id,
            "reference": booking.reference,
            "booking_starts_at": booking.starts_at,
            "total": booking.total,
            "currency": booking.currency,
            "pay_by": booking.expires_at,
            "responded_at": booking_request.responded_at,
        }
        _emit(
            session,
            booking_request,
            BookingRequestCounterAccepted(**to_pay, counter_accepted_at=now)
            if countered
            else BookingRequestAccepted(**to_pay),
        )

    try:
        booking = await record_booking(
            session,
            traveler_id=booking_request.traveler_id,
            actor=actor,
            hold=hold,
            contact=Contact.model_validate(booking_request.contact),
            special_requests=booking_request.message,
            payment_option="full",
            now=now,
            alongside=mark_accepted,
        )
    except AppError:
        await session.rollback()
        await session.refresh(booking_request)
        # Withdrawn or expired while the seats were being held: they go back on sale now, not
        # at the end of the payment window. An accepted request's booking holds this very hold.
        if booking_request.status != "accepted":
            await release_hold_or_let_lapse(for_traveler.inventory, hold.id)
        raise
    if booking.payment_intent_id is None:
        try:
            await attach_payment_intent(session, booking, payment=for_traveler.payment)
        except AppError as error:
            # The answer stands: the traveler gets the intent later from POST /bookings with
            # the booking's hold, as for any booking whose intent could not be made at once.
            logger.warning(
                "no payment intent yet for booking %s of request %s: %s", booking.id, booking_request.id, error
            )
    await session.refresh(booking_request)
    return booking_request


async def decline_request(
    session: AsyncSession,
    *,
    request_id: UUID,
    provider: Identity,
    reason: str | None,
    inventory: InventoryClient,
    alternative_days: int,
    clock: Clock,
) -> BookingRequest:
    """The provider declines; the answer lists the listing's other slots with seats for the
    party over the next days, for the traveler to ask again."""
    booking_request = await _request_for(session, request_id=request_id, actor=provider, action="decline")
    today = clock.now().astimezone(ZoneInfo(booking_request.timezone)).date()
    open_slots = await inventory.open_slots(
        booking_request.listing_id,
        first=today,
        last=today + timedelta(days=alternative_days - 1),
        party_size=booking_request.seats,
    )
    alternatives = [
        AlternativeSlot(
            slot_id=slot.slot_id,
            date=slot.date,
            start_time=slot.start_time,
            end_time=slot.end_time,
            timezone=booking_request.timezone,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            available=slot.available,
            unit_price=None if slot.price is None else Money(amount=slot.price.amount, currency=slot.price.currency),
        )
        for slot in open_slots.slots
        if slot.slot_id != booking_request.slot_id
    ]
    now = clock.now()
    await _move(session, booking_request, "decline")
    booking_request.status_reason = reason
    booking_request.responded_at = now
    booking_request.alternatives = [alternative.model_dump(mode="json") for alternative in alternatives]
    _emit(
        session,
        booking_request,
        BookingRequestDeclined(
            **_facts(booking_request),
            reason=reason,
            alternatives=[
                Alternative(
                    slot_id=alternative.slot_id,
                    date=alternative.date,
                    start_time=alternative.start_time,
                    available=alternative.available,
                    unit_price=None if alternative.unit_price is None else alternative.unit_price.amount,
                )
                for alternative in alternatives
            ],
            currency=booking_request.currency,
            responded_at=now,
        ),
    )
    await session.commit()
    return booking_request


async def decline_requests_on_slots(session: AsyncSession, *, slot_ids: list[UUID], reason: str, now: datetime) -> None:
    """Requests still waiting for their provider on slots that will not run are declined for
    them, in the caller's transaction, with no other times offered (the provider has not
    chosen any)."""
    waiting = (
        await session.scalars(
            select(BookingRequest)
            .where(BookingRequest.slot_id.in_(slot_ids), BookingRequest.status == "pending_provider")
            .order_by(BookingRequest.id)
            .with_for_update()
        )
    ).all()
    for booking_request in waiting:
        booking_request.status = next_status(booking_request.status, "decline")
        booking_request.status_reason, booking_request.responded_at = reason, now
        booking_request.alternatives = []
        _emit(
            session,
            booking_request,
            BookingRequestDeclined(
                **_facts(booking_request),
                reason=reason,
                alternatives=[],
                currency=booking_request.currency,
                responded_at=now,
            ),
        )


async def counter_offer(
    session: AsyncSession,
    *,
    request_id: UUID,
    provider: Identity,
    offer: CounterOfferCreate,
    inventory: InventoryClient,
    deadlines: Deadlines,
    clock: Clock,
) -> BookingRequest:
    """The provider offers another date or time of the listing and/or another price; the
    traveler has the counter-offer's window to accept it. 404 if the listing has no slot at
    the date and time offered, 409 if it has no seats for the party there."""
    booking_request = await _request_for(session, request_id=request_id, actor=provider, action="counter")
    if offer.price is None and booking_request.price_estimate.get("quote") is None:
        raise InvalidInput("This listing is priced case by case: name the price.", details={"price": None})
    if offer.price is not None:
        require_exact_amount(offer.price, booking_request.currency, field="price")
    slot_id = await _offered_slot(inventory, booking_request, offer)
    if slot_id == booking_request.slot_id and offer.price is None:
        raise InvalidInput(
            "The counter-offer is the request as asked; accept it instead.",
            details={"date": str(offer.date), "start_time": str(offer.start_time)},
        )
    slot = await _slot_for(inventory, slot_id=slot_id, party=booking_request)
    _check_open_for(slot, booking_request.seats)
    now = clock.now()
    await _move(session, booking_request, "counter")
    booking_request.responded_at = now
    booking_request.expires_at = now + deadlines.counter_answer
    booking_request.counter_slot_id = slot_id
    booking_request.counter_starts_at = slot.starts_at
    booking_request.counter_ends_at = slot.ends_at
    booking_request.counter_price = offer.price
    booking_request.counter_message = offer.message
    _emit(
        session,
        booking_request,
        BookingRequestCountered(
            **_facts(booking_request),
            counter_slot_id=slot_id,
            counter_starts_at=booking_request.counter_starts_at,
            counter_price=offer.price,
            currency=booking_request.currency,
            counter_message=offer.message,
            expires_at=booking_request.expires_at,
            responded_at=now,
        ),
    )
    await session.commit()
    return booking_request


async def _offered_slot(inventory: InventoryClient, booking_request: BookingRequest, offer: CounterOfferCreate) -> UUID:
    """The listing's slot at the offered date and start time (each the request's if not given)."""
    if offer.date is None and offer.start_time is None:
        return booking_request.slot_id
    local_start = booking_request.starts_at.astimezone(ZoneInfo(booking_request.timezone))
    day = offer.date or local_start.date()
    start_time = (offer.start_time or local_start.time()).strftime("%H:%M")
    open_slots = await inventory.open_slots(booking_request.listing_id, first=day, last=day, party_size=1)
    for slot in open_slots.slots:
        if slot.start_time == start_time:
            return slot.slot_id
    raise NotFound(
        "The listing has no open slot at that date and time.",
        error_code="NO_SUCH_SLOT",
        details={"date": day.isoformat(), "start_time": start_time},
    )


async def cancel_request(
    session: AsyncSession, *, request_id: UUID, traveler: Identity, reason: str | None, clock: Clock
) -> BookingRequest:
    """The traveler withdraws a request that is still open."""
    booking_request = await _request_for(session, request_id=request_id, actor=traveler, action="cancel")
    now = clock.now()
    await _move(session, booking_request, "cancel")
    booking_request.status_reason = reason
    _emit(session, booking_request, BookingRequestCancelled(**_facts(booking_request), reason=reason, cancelled_at=now))
    await session.commit()
    return booking_request


async def handle_request_deadlines(
    session_factory: async_sessionmaker[AsyncSession], *, clock: Clock, deadlines: Deadlines, batch_size: int = 200
) -> int:
    """Expire requests the provider left unanswered and counter-offers the traveler let
    lapse, and send each unanswered request's reminder and last warning once, each with its
    event; returns how many. Rows another run holds are skipped, so several processes can run it."""
    now = clock.now()
    async with session_factory() as session, session.begin():
        overdue = (
            await session.scalars(
                select(BookingRequest)
                .where(BookingRequest.status.in_(OPEN), BookingRequest.expires_at <= now)
                .order_by(BookingRequest.expires_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for booking_request in overdue:
            if booking_request.status == "pending_provider":
                booking_request.status = next_status(booking_request.status, "expire")
                booking_request.status_reason = "the provider did not answer in time"
                _emit(session, booking_request, BookingRequestExpired(**_facts(booking_request), expired_at=now))
            else:
                booking_request.status = next_status(booking_request.status, "lapse_counter")
                booking_request.status_reason = "the counter-offer was not accepted in time"
                _emit(session, booking_request, BookingRequestCounterLapsed(**_facts(booking_request), lapsed_at=now))
        unanswered = (
            await session.scalars(
                select(BookingRequest)
                .where(
                    BookingRequest.status == "pending_provider",
                    BookingRequest.expires_at > now,
                    or_(
                        and_(
                            BookingRequest.reminder_sent_at.is_(None),
                            BookingRequest.requested_at <= now - deadlines.reminder_after,
                            BookingRequest.requested_at > now - deadlines.last_warning_after,
                        ),
                        and_(
                            BookingRequest.last_warning_sent_at.is_(None),
                            BookingRequest.requested_at <= now - deadlines.last_warning_after,
                        ),
                    ),
                )
                .order_by(BookingRequest.requested_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        notices = 0
        for booking_request in unanswered:
            due = deadlines.notice_due(
                requested_at=booking_request.requested_at, expires_at=booking_request.expires_at, now=now
            )
            if due == "last_warning" and booking_request.last_warning_sent_at is None:
                booking_request.last_warning_sent_at = now
                _emit(
                    session,
                    booking_request,
                    BookingRequestProviderWarned(**_facts(booking_request), expires_at=booking_request.expires_at),
                )
                notices += 1
            elif due == "reminder" and booking_request.reminder_sent_at is None:
                booking_request.reminder_sent_at = now
                _emit(
                    session,
                    booking_request,
                    BookingRequestProviderReminded(**_facts(booking_request), expires_at=booking_request.expires_at),
                )
                notices += 1
    return len(overdue) + notices
