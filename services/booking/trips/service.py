"""Trips: a traveler plans a trip day by day, an expert on its handoff proposes items for the
owner to approve, checkout books the bookable items through the mixed cart, and each item
shows the live status of what it booked (kept current from booking's own events)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.affiliate.domain import Partner
from services.booking.affiliate.service import links_for_listing
from services.booking.bookings.domain import check_party_size
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import Money
from services.booking.carts import service as carts
from services.booking.carts.models import Cart, CartItem
from services.booking.carts.schemas import CheckoutRequest
from services.booking.experts.domain import EDITABLE
from services.booking.experts.models import ExpertHandoff
from services.booking.history.service import Origin
from services.booking.requests.domain import Deadlines
from services.booking.requests.models import BookingRequest
from services.booking.trips.domain import (
    EXTERNAL,
    UNBOOKED,
    ItemState,
    booking_mode,
    days_in,
    is_checkout_ready,
    placement_of_booking,
    trip_status,
)
from services.booking.trips.models import Trip, TripItem
from services.booking.trips.schemas import (
    MAX_ITEMS_PER_TRIP,
    TripCheckoutOut,
    TripCreate,
    TripItemCreate,
    TripItemOut,
    TripItemUpdate,
    TripOut,
    TripUpdate,
)
from services.booking.upstreams.binding import Upstreams
from shared.clock import Clock
from shared.contracts.inventory_api import Party, SlotForRequest
from shared.errors import Conflict, InvalidInput, NotFound
from shared.identity import Identity

# A request's status as its item shows it: the provider has it.
REQUEST_STATUS_SHOWN = {"pending_provider": "requested"}
# Fields of an item a link decides, checked against inventory when any of them is given.
LINK_FIELDS = frozenset({"listing_id", "slot_id", "affiliate_partner", "party", "day"})


# Trips


async def create_trip(session: AsyncSession, *, traveler: Identity, request: TripCreate, clock: Clock) -> Trip:
    now = clock.now()
    trip = Trip(
        traveler_id=traveler.user_id,
        traveler_email=traveler.email,
        title=request.title,
        destinations=request.destinations,
        start_date=request.start_date,
        end_date=request.end_date,
        travelers=request.travelers,
        experience_type=request.experience_type,
        timezone=request.timezone,
        status="draft",
        share_shows_prices=True,
        calendar_token_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(trip)
    await session.flush()
    await refresh_status(session, trip, now=now)
    await session.commit()
    return trip


async def list_trips(
    session: AsyncSession, *, traveler: Identity, limit: int, cursor: str | None
) -> tuple[list[Trip], str | None]:
    """The traveler's own trips, newest first; the cursor names the page's last trip."""
    query = select(Trip).where(Trip.traveler_id == traveler.user_id, Trip.deleted_at.is_(None))
    if cursor:
        try:
            after_at, after_id = cursor.split("_", 1)
            position = (datetime.fromisoformat(after_at), UUID(after_id))
        except ValueError:
            raise InvalidInput("The cursor is not one this list gave.", details={"cursor": cursor}) from None
        query = query.where(tuple_(Trip.created_at, Trip.id) < position)
    rows = list((await session.scalars(query.order_by(Trip.created_at.desc(), Trip.id.desc()).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], f"{last.created_at.isoformat()}_{last.id}"


async def get_trip(session: AsyncSession, *, trip_id: UUID, viewer: Identity, lock: bool = False) -> Trip:
    """The trip for its owner (and admins), or for an expert working on its handoff; 404 for
    anyone else, as for a trip that does not exist or was deleted."""
    trip = await _trip(session, trip_id, lock=lock)
    if trip is None or not (_owns(trip, viewer) or await _working_handoff(session, trip, viewer, open_only=False)):
        raise NotFound("No such trip.")
    return trip


async def _trip(session: AsyncSession, trip_id: UUID, *, lock: bool) -> Trip | None:
    query = select(Trip).where(Trip.id == trip_id, Trip.deleted_at.is_(None))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


def _owns(trip: Trip, viewer: Identity) -> bool:
    return trip.traveler_id == viewer.user_id or viewer.is_admin


async def owned_trip(session: AsyncSession, *, trip_id: UUID, owner: Identity, lock: bool = False) -> Trip:
    """The trip for its owner (and admins); 404 for anyone else, as for a missing or deleted one."""
    trip = await _trip(session, trip_id, lock=lock)
    if trip is None or not _owns(trip, owner):
        raise NotFound("No such trip.")
    return trip


async def _working_handoff(
    session: AsyncSession, trip: Trip, viewer: Identity, *, open_only: bool
) -> ExpertHandoff | None:
    """The viewer's handoff on the trip as its expert: one they accepted (to edit), or any they
    accepted at some point (to see)."""
    statuses = EDITABLE if open_only else frozenset({"accepted", "completed", "approved"})
    return await session.scalar(
        select(ExpertHandoff)
        .where(
            ExpertHandoff.trip_id == trip.id,
            ExpertHandoff.expert_id == viewer.user_id,
            ExpertHandoff.status.in_(statuses),
        )
        .order_by(ExpertHandoff.requested_at.desc())
        .limit(1)
    )


def _check_not_cancelled(trip: Trip) -> None:
    if trip.status == "cancelled":
        raise Conflict(
            "This trip is cancelled; it no longer changes.",
            error_code="TRIP_CANCELLED",
            details={"trip_id": str(trip.id)},
        )


async def update_trip(
    session: AsyncSession, *, trip_id: UUID, owner: Identity, request: TripUpdate, clock: Clock
) -> Trip:
    """Change the trip's details; its days still hold every item, and a trip with an item on a
    slot keeps its start date (the slot is on a date, not on a day)."""
    trip = await owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    _check_not_cancelled(trip)
    changes = request.model_dump(exclude_unset=True)
    start, end = changes.get("start_date", trip.start_date), changes.get("end_date", trip.end_date)
    if end < start:
        raise InvalidInput("end_date is before start_date.", details={"start_date": str(start), "end_date": str(end)})
    items = await items_of(session, trip.id)
    if start != trip.start_date and any(item.slot_id is not None for item in items):
        raise InvalidInput(
            "An item on a slot fixes the trip's start date; move or remove it first.",
            details={"start_date": str(trip.start_date)},
        )
    last_day = max((item.day for item in items), default=1)
    if last_day > days_in(start, end):
        raise InvalidInput(
            f"Day {last_day} has items; the trip cannot be shorter.", details={"last_item_day": last_day}
        )
    for name, value in changes.items():
        setattr(trip, name, value)
    trip.updated_at = clock.now()
    await refresh_status(session, trip, now=trip.updated_at)
    await session.commit()
    return trip


async def delete_trip(session: AsyncSession, *, trip_id: UUID, owner: Identity, clock: Clock) -> None:
    """Cancel the trip and stop showing it; it is kept, as its bookings still point at it."""
    trip = await owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    now = clock.now()
    trip.status, trip.deleted_at, trip.updated_at = "cancelled", now, now
    await session.commit()


# Items


async def items_of(session: AsyncSession, trip_id: UUID) -> list[TripItem]:
    """The trip's items in order, as stored now: another request may have changed them since
    this session last read them (sessions keep what they read past a commit)."""
    rows = await session.scalars(
        select(TripItem)
        .where(TripItem.trip_id == trip_id)
        .order_by(TripItem.day, TripItem.position, TripItem.created_at, TripItem.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def _editor(session: AsyncSession, trip: Trip, actor: Identity) -> ExpertHandoff | None:
    """None for the owner; for an expert, the accepted handoff they edit the trip under; 404
    for anyone else."""
    if _owns(trip, actor):
        return None
    handoff = await _working_handoff(session, trip, actor, open_only=True)
    if handoff is None:
        done = await _working_handoff(session, trip, actor, open_only=False)
        if done is None:
            raise NotFound("No such trip.")
        raise Conflict(
            f"The trip of a {done.status} handoff is not edited by its expert.",
            error_code="HANDOFF_NOT_EDITABLE",
            details={"status": done.status},
        )
    return handoff


def _check_day(trip: Trip, day: int) -> None:
    if day > days_in(trip.start_date, trip.end_date):
        raise InvalidInput(
            f"The trip has {days_in(trip.start_date, trip.end_date)} days.",
            details={"day": day, "start_date": str(trip.start_date), "end_date": str(trip.end_date)},
        )


def _date_of(trip: Trip, day: int) -> date:
    return trip.start_date + timedelta(days=day - 1)


@dataclass(frozen=True)
class _Link:
    """What inventory says an item links: the listing's booking mode and the listing."""

    listing_mode: str | None
    listing_id: UUID | None


async def _resolve_link(
    trip: Trip,
    *,
    day: int,
    listing_id: UUID | None,
    slot_id: UUID | None,
    affiliate_partner: str | None,
    party: dict[str, int] | None,
    upstreams: Upstreams,
) -> _Link:
    """Check the item's link against inventory: a slot of an instant or request listing on the
    item's date with room for its party, or a listing sold by partners."""
    if slot_id is not None:
        slot = await upstreams.inventory.read_slot_for(slot_id, party=Party.model_validate(_party(trip, party)))
        _check_slot(trip, slot, day=day, listing_id=listing_id, party=party)
        return _Link(listing_mode=slot.booking_mode, listing_id=slot.listing_id)
    if affiliate_partner is not None and listing_id is not None:
        listing = await upstreams.inventory.read_listing(listing_id)
        if listing.booking_mode != "external":
            raise Conflict(
                f"This listing is booked {listing.booking_mode}, not through a partner.",
                error_code="WRONG_ITEM_KIND",
                details={"kind": "external", "booking_mode": listing.booking_mode},
            )
    return _Link(listing_mode=None, listing_id=listing_id)


def _check_slot(
    trip: Trip, slot: SlotForRequest, *, day: int, listing_id: UUID | None, party: dict[str, int] | None
) -> None:
    if slot.booking_mode not in ("instant", "request"):
        raise Conflict(
            f"This slot's listing is booked {slot.booking_mode}; link the listing with its partner instead.",
            error_code="WRONG_ITEM_KIND",
            details={"booking_mode": slot.booking_mode},
        )
    if listing_id is not None and listing_id != slot.listing_id:
        raise InvalidInput("The slot is not of that listing.", details={"listing_id": str(listing_id)})
    if slot.date != _date_of(trip, day):
        raise InvalidInput(
            f"The slot is on {slot.date}, not on day {day} ({_date_of(trip, day)}).",
            details={"day": day, "slot_date": str(slot.date)},
        )
    check_party_size(sum(_party(trip, party).values()), max_party_size=slot.max_party_size)


def _party(trip: Trip, party: dict[str, int] | None) -> dict[str, int]:
    """The item's own party, or everyone on the trip as adults."""
    return party if party is not None else {"adults": trip.travelers, "children": 0, "infants": 0}


def _check_editable(item: TripItem) -> None:
    if item.cart_item_id is not None or item.booking_id is not None or item.booking_request_id is not None:
        raise Conflict(
            "This item is booked; cancel its booking instead.",
            error_code="ITEM_BOOKED",
            details={"item_id": str(item.id), "booking_status": item.booking_status},
        )


async def add_item(
    session: AsyncSession,
    *,
    trip_id: UUID,
    actor: Identity,
    request: TripItemCreate,
    upstreams: Upstreams,
    clock: Clock,
) -> TripItem:
    """Add an item on a day of the trip, booked as what it links is. The owner's item is
    theirs; an expert's (on an accepted handoff of the trip) waits for the owner's approval."""
    trip = await get_trip(session, trip_id=trip_id, viewer=actor)
    await _editor(session, trip, actor)
    _check_not_cancelled(trip)
    _check_day(trip, request.day)
    party = request.party.model_dump() if request.party else None
    await session.commit()  # no transaction stays open while inventory answers
    link = await _resolve_link(
        trip,
        day=request.day,
        listing_id=request.listing_id,
        slot_id=request.slot_id,
        affiliate_partner=request.affiliate_partner,
        party=party,
        upstreams=upstreams,
    )
    trip = await get_trip(session, trip_id=trip_id, viewer=actor, lock=True)
    handoff = await _editor(session, trip, actor)
    _check_not_cancelled(trip)
    count = await session.scalar(select(func.count()).select_from(TripItem).where(TripItem.trip_id == trip.id))
    if (count or 0) >= MAX_ITEMS_PER_TRIP:
        raise InvalidInput(f"A trip holds at most {MAX_ITEMS_PER_TRIP} items.", details={"items": count})
    now = clock.now()
    mode = booking_mode(
        listing_mode=link.listing_mode, affiliate_partner=request.affiliate_partner, added_by_expert=handoff is not None
    )
    item = TripItem(
        trip_id=trip.id,
        day=request.day,
        position=request.order,
        type=request.type,
        title=request.title,
        start_time=request.start_time,
        duration_minutes=request.duration_minutes,
        location=request.location,
        notes=request.notes,
        price=request.price,
        currency=request.currency,
        price_is_estimate=request.price_is_estimate,
        booking_mode=mode,
        listing_id=link.listing_id,
        slot_id=request.slot_id,
        party=party,
        affiliate_partner=request.affiliate_partner,
        booking_status=EXTERNAL if mode == "external" else UNBOOKED,
        added_by="traveler" if handoff is None else "expert",
        expert_id=None if handoff is None else actor.user_id,
        handoff_id=None if handoff is None else handoff.id,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    await session.flush()
    trip.updated_at = now
    await refresh_status(session, trip, now=now)
    await session.commit()
    return item


async def _item_of(session: AsyncSession, trip: Trip, item_id: UUID) -> TripItem:
    item = await session.scalar(
        select(TripItem)
        .where(TripItem.id == item_id, TripItem.trip_id == trip.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound("No such item on this trip.")
    return item


async def update_item(
    session: AsyncSession,
    *,
    trip_id: UUID,
    item_id: UUID,
    actor: Identity,
    request: TripItemUpdate,
    upstreams: Upstreams,
    clock: Clock,
) -> TripItem:
    """Change an item not yet booked; a changed link is checked again. An expert's change makes
    the item theirs, to be approved by the owner again."""
    changes = request.model_dump(exclude_unset=True)
    if request.party is not None:
        changes["party"] = request.party.model_dump()  # the whole party, its defaults too
    trip = await get_trip(session, trip_id=trip_id, viewer=actor)
    await _editor(session, trip, actor)
    _check_not_cancelled(trip)
    item = await _item_of(session, trip, item_id)
    _check_editable(item)
    merged: dict[str, Any] = {
        "day": item.day,
        "listing_id": item.listing_id,
        "slot_id": item.slot_id,
        "affiliate_partner": item.affiliate_partner,
        "party": item.party,
    } | {name: changes[name] for name in LINK_FIELDS & changes.keys()}
    if "price" in changes or "currency" in changes:
        price, currency = changes.get("price", item.price), changes.get("currency", item.currency)
        if (price is None) != (currency is None):
            raise InvalidInput("price and currency come together.", details={"price": str(price)})
    if merged["slot_id"] is not None and merged["affiliate_partner"] is not None:
        raise InvalidInput("An item is booked through a slot or a partner, not both.", details={})
    if merged["affiliate_partner"] is not None and merged["listing_id"] is None:
        raise InvalidInput("A partner's item names the listing it offers.", details={})
    _check_day(trip, merged["day"])
    await session.commit()
    link = _Link(listing_mode=None, listing_id=merged["listing_id"])
    if LINK_FIELDS & changes.keys():
        link = await _resolve_link(trip, upstreams=upstreams, **merged)
    trip = await get_trip(session, trip_id=trip_id, viewer=actor, lock=True)
    handoff = await _editor(session, trip, actor)
    _check_not_cancelled(trip)
    item = await _item_of(session, trip, item_id)
    _check_editable(item)
    if LINK_FIELDS & changes.keys():
        listing_mode = link.listing_mode
    else:
        listing_mode = item.booking_mode if item.booking_mode in ("instant", "request") else None
    for name, value in changes.items():
        setattr(item, "position" if name == "order" else name, value)
    item.listing_id = link.listing_id
    now = clock.now()
    if handoff is not None:
        item.added_by, item.expert_id, item.handoff_id, item.approved_at = "expert", actor.user_id, handoff.id, None
    item.booking_mode = booking_mode(
        listing_mode=listing_mode, affiliate_partner=item.affiliate_partner, added_by_expert=item.added_by == "expert"
    )
    item.booking_status = EXTERNAL if item.booking_mode == "external" else UNBOOKED
    item.updated_at = trip.updated_at = now
    await refresh_status(session, trip, now=now)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, *, trip_id: UUID, item_id: UUID, actor: Identity, clock: Clock) -> None:
    """Remove an item not yet booked: the owner any, an expert the ones they proposed."""
    trip = await get_trip(session, trip_id=trip_id, viewer=actor, lock=True)
    handoff = await _editor(session, trip, actor)
    _check_not_cancelled(trip)
    item = await _item_of(session, trip, item_id)
    if handoff is not None and item.expert_id != actor.user_id:
        raise NotFound("No such item on this trip.")
    _check_editable(item)
    await session.delete(item)
    await session.flush()
    trip.updated_at = clock.now()
    await refresh_status(session, trip, now=trip.updated_at)
    await session.commit()


# Status


def _state(item: TripItem) -> ItemState:
    return ItemState(
        booking_mode=item.booking_mode,
        booking_status=item.booking_status,
        awaiting_approval=item.added_by == "expert" and item.approved_at is None,
    )


async def _handoff_statuses(session: AsyncSession, trip_ids: Sequence[UUID]) -> dict[UUID, list[tuple[UUID, str]]]:
    rows = await session.execute(
        select(ExpertHandoff.trip_id, ExpertHandoff.id, ExpertHandoff.status)
        .where(ExpertHandoff.trip_id.in_(trip_ids))
        .order_by(ExpertHandoff.requested_at.desc())
    )
    found: dict[UUID, list[tuple[UUID, str]]] = {trip_id: [] for trip_id in trip_ids}
    for trip_id, handoff_id, status in rows.all():
        if trip_id is not None:
            found[trip_id].append((handoff_id, status))
    return found


def _status_of(trip: Trip, items: Sequence[TripItem], handoff_statuses: Sequence[str], now: datetime) -> str:
    return trip_status(
        cancelled=trip.status == "cancelled" or trip.deleted_at is not None,
        end_date=trip.end_date,
        today=now.astimezone(ZoneInfo(trip.timezone)).date(),
        handoff_statuses=handoff_statuses,
        items=[_state(item) for item in items],
    )


async def status_now(session: AsyncSession, trip: Trip, items: Sequence[TripItem], *, now: datetime) -> str:
    """The trip's status as of `now`, from its items and its handoffs."""
    handoffs = (await _handoff_statuses(session, [trip.id]))[trip.id]
    return _status_of(trip, items, [status for _, status in handoffs], now)


async def refresh_status(session: AsyncSession, trip: Trip, *, now: datetime) -> None:
    """Set the trip's status from its items and handoffs, in the caller's transaction."""
    trip.status = await status_now(session, trip, await items_of(session, trip.id), now=now)


def in_plan(item: TripItem) -> bool:
    """Whether an item is part of the trip's plan as others see it: an expert's proposal is
    not, until the owner approves it."""
    return not _state(item).awaiting_approval


# Checkout


async def checkout(
    session: AsyncSession,
    *,
    trip_id: UUID,
    owner: Identity,
    origin: Origin,
    request: CheckoutRequest,
    upstreams: Upstreams,
    partner_ids: dict[Partner, str],
    deadlines: Deadlines,
    max_open_requests: int,
    clock: Clock,
) -> TripCheckoutOut:
    """Put the trip's unbooked, bookable (and approved) items in a cart and check it out through
    the mixed cart; each booking or request it makes lands on its item. Partners' items get
    their tracked links. Checking out again with nothing new answers the last checkout."""
    trip = await owned_trip(session, trip_id=trip_id, owner=owner)
    _check_not_cancelled(trip)
    items = await items_of(session, trip.id)
    await session.commit()
    await _link_partners(session, items, upstreams=upstreams, partner_ids=partner_ids, clock=clock)
    ready = [item for item in items if is_checkout_ready(_state(item)) and item.cart_item_id is None]
    slots = {
        item.id: await upstreams.inventory.read_slot_for(
            item.slot_id, party=Party.model_validate(_party(trip, item.party))
        )
        for item in ready
        if item.slot_id is not None
    }
    currencies = {slot.currency for slot in slots.values() if slot.booking_mode == "instant"}
    if len(currencies) > 1:
        raise Conflict(
            "Instant items are paid together, in one currency.",
            error_code="CURRENCY_MISMATCH",
            details={"currencies": sorted(currencies)},
        )
    cart_id = await _fill_cart(
        session, trip_id=trip.id, owner=owner, ready=[item.id for item in ready], slots=slots, clock=clock
    )
    checked_out = await carts.checkout(
        session,
        cart_id=cart_id,
        traveler=owner,
        origin=origin,
        request=request,
        upstreams=upstreams,
        partner_ids=partner_ids,
        deadlines=deadlines,
        max_open_requests=max_open_requests,
        clock=clock,
    )
    trip = await owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    await _land_outcomes(session, trip, cart_id=cart_id, now=clock.now())
    trip.updated_at = clock.now()
    await refresh_status(session, trip, now=trip.updated_at)
    await session.commit()
    [answer] = await trips_out(session, [trip], now=clock.now())
    return TripCheckoutOut(trip=answer, checkout=checked_out)


async def _link_partners(
    session: AsyncSession,
    items: Sequence[TripItem],
    *,
    upstreams: Upstreams,
    partner_ids: dict[Partner, str],
    clock: Clock,
) -> None:
    """Give each partner's item its tracked link (made once per listing and partner)."""
    for item in items:
        if item.booking_mode != "external" or item.listing_id is None or item.affiliate_links is not None:
            continue
        page = await links_for_listing(
            session, listing_id=item.listing_id, inventory=upstreams.inventory, partner_ids=partner_ids
        )
        chosen = [link.model_dump(mode="json") for link in page.items if link.partner == item.affiliate_partner]
        current = await session.get_one(TripItem, item.id, with_for_update=True, populate_existing=True)
        current.affiliate_links, current.updated_at = chosen, clock.now()
        await session.commit()


async def _fill_cart(
    session: AsyncSession,
    *,
    trip_id: UUID,
    owner: Identity,
    ready: Sequence[UUID],
    slots: dict[UUID, SlotForRequest],
    clock: Clock,
) -> UUID:
    """The cart to check out: the trip's open cart, or a new one, with the ready items put in
    it in one transaction with their links to it. With nothing ready, the last checkout's cart."""
    trip = await owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    now = clock.now()
    items = [
        item
        for item in await items_of(session, trip.id)
        if item.id in ready and item.cart_item_id is None and is_checkout_ready(_state(item))
    ]
    if not items:
        if trip.checkout_cart_id is None:
            raise Conflict(
                "Nothing on this trip is left to book.", error_code="NOTHING_TO_BOOK", details={"trip_id": str(trip.id)}
            )
        await session.commit()
        return trip.checkout_cart_id
    cart = (
        await session.get(Cart, trip.checkout_cart_id, with_for_update=True, populate_existing=True)
        if trip.checkout_cart_id
        else None
    )
    if cart is None or cart.status != "open":
        cart = Cart(traveler_id=owner.user_id, status="open", created_at=now)
        session.add(cart)
        await session.flush()
    for item in items:
        slot = slots[item.id]
        party = _party(trip, item.party)
        cart_item = CartItem(
            cart_id=cart.id,
            kind=item.booking_mode,
            details={"slot_id": str(slot.slot_id)}
            | party
            | {"listing_id": str(slot.listing_id), "listing_title": slot.listing_title, "currency": slot.currency},
            created_at=now,
        )
        session.add(cart_item)
        await session.flush()
        item.cart_item_id, item.updated_at = cart_item.id, now
    trip.checkout_cart_id = cart.id
    await session.commit()
    return cart.id


async def _land_outcomes(session: AsyncSession, trip: Trip, *, cart_id: UUID, now: datetime) -> None:
    """Each of the cart's outcomes on its item: the booking or request it made, or, when the
    item could not be had, the item unbooked again to be checked out later."""
    outcomes = {item.id: item.outcome for item in await carts.items_of(session, cart_id)}
    for item in await items_of(session, trip.id):
        if item.cart_item_id not in outcomes:
            continue
        outcome = outcomes[item.cart_item_id] or {}
        if outcome.get("status") == "booked":
            item.booking_id = UUID(outcome["booking_id"])
        elif outcome.get("status") == "requested":
            item.booking_request_id = UUID(outcome["request_id"])
        elif outcome.get("status") == "unavailable":
            item.cart_item_id = None
        await _sync_item(session, trip, item, now=now)


# Live status


async def _sync_item(session: AsyncSession, trip: Trip, item: TripItem, *, now: datetime) -> bool:
    """Show on the item the status of what it is linked to, and the slot and time of its
    booking, read as they are now (so events that come twice or out of order leave it right);
    True if it changed."""
    changed = False
    status = UNBOOKED
    if item.booking_request_id is not None:
        booking_request = await session.get(BookingRequest, item.booking_request_id, populate_existing=True)
        if booking_request is not None:
            status = REQUEST_STATUS_SHOWN.get(booking_request.status, booking_request.status)
            if booking_request.booking_id is not None:
                item.booking_id = booking_request.booking_id
    if item.booking_id is not None:
        booking = await session.get(Booking, item.booking_id, populate_existing=True)
        if booking is not None:
            status = booking.status
            changed = _follow_booking(trip, item, booking)
    if item.booking_mode == "external":
        status = EXTERNAL
    if status == item.booking_status:
        return changed
    item.booking_status, item.status_changed_at = status, now
    return True


def _follow_booking(trip: Trip, item: TripItem, booking: Booking) -> bool:
    """Move the item to its booking's slot, day and time (a modification moves the booking);
    True if it moved."""
    placement = placement_of_booking(
        start_date=trip.start_date,
        end_date=trip.end_date,
        zone=ZoneInfo(trip.timezone),
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
    )
    now_at = (item.slot_id, item.day, item.start_time, item.duration_minutes)
    if placement is None:
        item.slot_id = booking.slot_id
    else:
        item.slot_id, item.day = booking.slot_id, placement.day
        item.start_time, item.duration_minutes = placement.start_time, placement.duration_minutes
    return (item.slot_id, item.day, item.start_time, item.duration_minutes) != now_at


async def sync_booking(session: AsyncSession, *, booking_id: UUID, now: datetime) -> None:
    """A booking moved: its item (found by the booking, by the request it came from, or by the
    cart item checkout made it of) shows its status, and the item's trip its status."""
    item_id = await session.scalar(select(TripItem.id).where(TripItem.booking_id == booking_id))
    if item_id is None:
        request_id = await session.scalar(select(BookingRequest.id).where(BookingRequest.booking_id == booking_id))
        item_id = await _item_by_request(session, request_id) if request_id is not None else None
    if item_id is not None:
        await _sync_and_refresh(session, item_id, link={}, now=now)
    elif (made_of := await _item_by_outcome(session, "booking_id", booking_id)) is not None:
        await _sync_and_refresh(session, made_of, link={"booking_id": booking_id}, now=now)


async def sync_request(session: AsyncSession, *, request_id: UUID, now: datetime) -> None:
    """A booking request moved: its item shows the request's status, or its booking's."""
    item_id = await _item_by_request(session, request_id)
    if item_id is not None:
        await _sync_and_refresh(session, item_id, link={}, now=now)
    elif (made_of := await _item_by_outcome(session, "request_id", request_id)) is not None:
        await _sync_and_refresh(session, made_of, link={"booking_request_id": request_id}, now=now)


async def sync_trip_of_handoff(session: AsyncSession, *, handoff_id: UUID, now: datetime) -> None:
    """A handoff moved: its trip's status follows."""
    trip_id = await session.scalar(select(ExpertHandoff.trip_id).where(ExpertHandoff.id == handoff_id))
    trip = await _trip(session, trip_id, lock=True) if trip_id is not None else None
    if trip is not None:
        await refresh_status(session, trip, now=now)


async def _item_by_request(session: AsyncSession, request_id: UUID) -> UUID | None:
    return await session.scalar(select(TripItem.id).where(TripItem.booking_request_id == request_id))


async def _item_by_outcome(session: AsyncSession, key: str, made_id: UUID) -> UUID | None:
    """The item whose cart item made `made_id`, before checkout wrote it on the item."""
    return await session.scalar(
        select(TripItem.id)
        .join(CartItem, CartItem.id == TripItem.cart_item_id)
        .where(CartItem.outcome[key].astext == str(made_id))
    )


async def _sync_and_refresh(session: AsyncSession, item_id: UUID, *, link: dict[str, UUID], now: datetime) -> None:
    """Write `link` on the item and its status, then the trip's: the trip locked before the
    item, in the order every change of a trip's items takes them."""
    trip_id = await session.scalar(select(TripItem.trip_id).where(TripItem.id == item_id))
    trip = await session.scalar(
        select(Trip).where(Trip.id == trip_id).with_for_update().execution_options(populate_existing=True)
    )
    item = await session.scalar(
        select(TripItem).where(TripItem.id == item_id).with_for_update().execution_options(populate_existing=True)
    )
    if trip is None or item is None:
        return  # deleted with its trip meanwhile
    for name, value in link.items():
        setattr(item, name, value)
    if await _sync_item(session, trip, item, now=now):
        item.updated_at = now
    await refresh_status(session, trip, now=now)


# Answers


async def trips_out(session: AsyncSession, trips: Sequence[Trip], *, now: datetime) -> list[TripOut]:
    """The trips as the API shows them, each with its items and its status as of `now`."""
    handoffs = await _handoff_statuses(session, [trip.id for trip in trips])
    answers = []
    for trip in trips:
        items = await items_of(session, trip.id)
        answers.append(
            TripOut(
                id=trip.id,
                traveler_id=trip.traveler_id,
                title=trip.title,
                destinations=list(trip.destinations),
                start_date=trip.start_date,
                end_date=trip.end_date,
                travelers=trip.travelers,
                experience_type=trip.experience_type,
                timezone=trip.timezone,
                status=_status_of(trip, items, [status for _, status in handoffs[trip.id]], now),
                handoff_ids=[handoff_id for handoff_id, _ in handoffs[trip.id]],
                checkout_cart_id=trip.checkout_cart_id,
                items=[item_out(trip, item) for item in items],
                created_at=trip.created_at,
                updated_at=trip.updated_at,
            )
        )
    return answers


def item_out(trip: Trip, item: TripItem) -> TripItemOut:
    return TripItemOut(
        id=item.id,
        trip_id=item.trip_id,
        day=item.day,
        date=_date_of(trip, item.day),
        order=item.position,
        type=item.type,
        title=item.title,
        start_time=item.start_time,
        duration_minutes=item.duration_minutes,
        location=item.location,
        notes=item.notes,
        price=Money(amount=item.price, currency=item.currency)
        if item.price is not None and item.currency is not None
        else None,
        price_is_estimate=item.price_is_estimate,
        booking_mode=item.booking_mode,
        booking_status=item.booking_status,
        status_changed_at=item.status_changed_at,
        listing_id=item.listing_id,
        slot_id=item.slot_id,
        party=item.party,
        affiliate_partner=item.affiliate_partner,
        booking_id=item.booking_id,
        booking_request_id=item.booking_request_id,
        handoff_id=item.handoff_id,
        affiliate_links=item.affiliate_links,
        added_by=item.added_by,
        expert_id=item.expert_id,
        awaiting_approval=_state(item).awaiting_approval,
        approved_at=item.approved_at,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
