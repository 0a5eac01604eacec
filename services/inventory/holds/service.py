"""Seat holds: placed atomically in Redis, recorded durably in PostgreSQL with their events."""

import contextlib
import logging
from datetime import timedelta
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.feed.publisher import slot_changed
from services.inventory.holds.events import HoldExpired, HoldPlaced, HoldReleased
from services.inventory.holds.models import SeatHold
from services.inventory.holds.schemas import HoldCreate, HoldDetails, HoldOut
from services.inventory.holds.seats import RedisSeats, SlotNotLoaded
from services.inventory.listings.models import Listing
from services.inventory.pricing.domain import Party, party_from_ages
from services.inventory.pricing.schemas import QuoteOut
from services.inventory.pricing.service import listing_rules, price_party
from services.inventory.schedules.models import Slot
from shared.auth import Identity
from shared.clock import Clock
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.outbox import add_event

logger = logging.getLogger(__name__)

PRODUCER = "inventory"


async def load_slot(session: AsyncSession, *, seats: RedisSeats, slot: Slot, clock: Clock) -> None:
    """Put a slot's counts into Redis from PostgreSQL: capacity, confirmed seats, live holds."""
    now = clock.now()
    live_holds = (
        await session.execute(
            select(SeatHold.id, SeatHold.seats, SeatHold.expires_at).where(
                SeatHold.slot_id == slot.id, SeatHold.status == "active", SeatHold.expires_at > now
            )
        )
    ).all()
    await seats.load(
        slot.id,
        capacity=slot.capacity,
        confirmed=slot.confirmed_seats,
        holds=[(row.id, row.seats, row.expires_at) for row in live_holds],
    )


async def available_seats(session: AsyncSession, *, seats: RedisSeats, slot: Slot, clock: Clock) -> int:
    try:
        return await seats.available(slot.id, now=clock.now())
    except SlotNotLoaded:
        await load_slot(session, seats=seats, slot=slot, clock=clock)
        return await seats.available(slot.id, now=clock.now())


async def change_capacity(session: AsyncSession, *, seats: RedisSeats, slot: Slot, capacity: int, clock: Clock) -> None:
    """Set a slot's capacity, in Redis atomically against concurrent holds and then on the row;
    409 CAPACITY_BELOW_TAKEN if fewer seats than are confirmed and held. The caller holds the
    slot's row lock and commits."""
    if capacity < slot.confirmed_seats:
        raise _below_taken(slot, capacity, slot.confirmed_seats)
    try:
        change = await seats.set_capacity(slot.id, capacity=capacity, now=clock.now())
    except SlotNotLoaded:
        await load_slot(session, seats=seats, slot=slot, clock=clock)
        change = await seats.set_capacity(slot.id, capacity=capacity, now=clock.now())
    if not change.ok:
        raise _below_taken(slot, capacity, change.available)
    slot.capacity = capacity


def _below_taken(slot: Slot, capacity: int, taken: int) -> Conflict:
    return Conflict(
        "The capacity cannot go below the seats already confirmed and held.",
        error_code="CAPACITY_BELOW_TAKEN",
        details={"slot_id": str(slot.id), "requested": capacity, "taken": taken},
    )


async def announce_hold_change(
    session: AsyncSession, *, seats: RedisSeats, hold: SeatHold, change: str, clock: Clock
) -> None:
    """Tell the live feed (and the calendar cache) that the hold's slot changed."""
    slot = await session.get_one(Slot, hold.slot_id)
    await slot_changed(
        seats.redis,
        listing_id=hold.listing_id,
        slot_id=slot.id,
        available=await available_seats(session, seats=seats, slot=slot, clock=clock),
        capacity=slot.capacity,
        change=change,
        seats=hold.seats,
        at=clock.now(),
    )


def _party(request: HoldCreate, listing: Listing) -> Party:
    if request.ages is None:
        return Party(adults=request.adults, children=request.children, infants=request.infants)
    party = party_from_ages(request.ages, listing_rules(listing))
    if party.adults == 0:
        raise InvalidInput("Children and infants travel with an adult.", details={"ages": request.ages})
    return party


async def place_hold(
    session: AsyncSession, *, seats: RedisSeats, holder: Identity, request: HoldCreate, clock: Clock
) -> SeatHold:
    """Hold seats on a slot for the listing's hold TTL, or 409 SOLD_OUT if they are not there."""
    now = clock.now()
    slot = await session.get(Slot, request.slot_id)
    listing = await session.get(Listing, slot.listing_id) if slot else None
    if slot is None or listing is None or listing.archived_at is not None:
        raise NotFound("No such slot.")
    if slot.closed_at is not None or slot.starts_at <= now:
        raise Conflict("This slot is no longer on sale.", error_code="SLOT_CLOSED")
    if not listing.on_sale:
        raise Conflict("This listing is not on sale at the moment.", error_code="NOT_ON_SALE")
    if listing.booking_mode != "instant":
        raise Conflict("This listing is booked on request, not held.", error_code="NOT_INSTANT_BOOKABLE")

    party = _party(request, listing)
    priced = price_party(listing, slot, party)
    hold_id = uuid4()
    expires_at = now + timedelta(seconds=listing.hold_ttl_seconds)
    try:
        change = await seats.reserve(slot.id, hold_id=hold_id, seats=party.seats, now=now, expires_at=expires_at)
    except SlotNotLoaded:
        await load_slot(session, seats=seats, slot=slot, clock=clock)
        change = await seats.reserve(slot.id, hold_id=hold_id, seats=party.seats, now=now, expires_at=expires_at)
    if not change.ok:
        raise Conflict(
            "Not enough seats are left on this slot.",
            error_code="SOLD_OUT",
            details={"slot_id": str(slot.id), "available": max(change.available, 0), "requested": party.seats},
        )

    hold = SeatHold(
        id=hold_id,
        slot_id=slot.id,
        listing_id=listing.id,
        holder_id=holder.user_id,
        adults=party.adults,
        children=party.children,
        infants=party.infants,
        seats=party.seats,
        quote=QuoteOut.of(priced).model_dump(mode="json"),
        status="active",
        expires_at=expires_at,
        created_at=now,
    )
    session.add(hold)
    add_event(
        session,
        HoldPlaced(
            hold_id=hold_id,
            slot_id=slot.id,
            listing_id=listing.id,
            holder_id=holder.user_id,
            seats=party.seats,
            expires_at=expires_at,
            total=str(priced.total),
            currency=priced.currency,
        ),
        producer=PRODUCER,
        key=str(slot.id),
    )
    try:
        await session.commit()
    except Exception:
        # The seats were taken in Redis first; give them back if the record could not be kept.
        await seats.release(slot.id, hold_id=hold_id, seats=party.seats, now=now)
        raise
    await announce_hold_change(session, seats=seats, hold=hold, change="hold_placed", clock=clock)
    return hold


async def get_hold(session: AsyncSession, *, hold_id: UUID, holder: Identity) -> SeatHold:
    hold = await session.get(SeatHold, hold_id)
    if hold is None or (hold.holder_id != holder.user_id and not holder.is_admin):
        raise NotFound("No such hold.")
    return hold


async def get_hold_details(session: AsyncSession, *, hold_id: UUID, holder: Identity) -> HoldDetails:
    hold = await get_hold(session, hold_id=hold_id, holder=holder)
    slot = await session.get_one(Slot, hold.slot_id)
    listing = await session.get_one(Listing, hold.listing_id)
    return HoldDetails.model_validate(
        {
            **HoldOut.model_validate(hold).model_dump(),
            "provider_id": listing.provider_id,
            "listing_title": listing.title,
            "category": listing.category,
            "timezone": listing.timezone,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
        }
    )


async def extend_hold(
    session: AsyncSession, *, seats: RedisSeats, hold_id: UUID, holder: Identity, clock: Clock, max_hold_seconds: int
) -> SeatHold:
    """Another full TTL from now, but never past `max_hold_seconds` after the hold was placed,
    so nobody keeps seats off sale indefinitely. 409 HOLD_EXPIRED once it has lapsed."""
    hold = await get_hold(session, hold_id=hold_id, holder=holder)
    await session.refresh(hold, with_for_update=True)
    listing = await session.get_one(Listing, hold.listing_id)
    now = clock.now()
    if hold.status != "active" or hold.expires_at <= now:
        raise Conflict("The hold has ended; place a new one.", error_code="HOLD_EXPIRED")
    limit = hold.created_at + timedelta(seconds=max_hold_seconds)
    expires_at = min(now + timedelta(seconds=listing.hold_ttl_seconds), limit)
    if expires_at <= hold.expires_at:
        raise Conflict(
            "The hold cannot be kept any longer.",
            error_code="HOLD_EXTENSION_LIMIT",
            details={"expires_at": hold.expires_at.isoformat(), "limit": limit.isoformat()},
        )
    try:
        extended = await seats.extend(hold.slot_id, hold_id=hold.id, seats=hold.seats, now=now, expires_at=expires_at)
    except SlotNotLoaded:
        slot = await session.get_one(Slot, hold.slot_id)
        await load_slot(session, seats=seats, slot=slot, clock=clock)
        extended = await seats.extend(hold.slot_id, hold_id=hold.id, seats=hold.seats, now=now, expires_at=expires_at)
    if not extended:
        raise Conflict("The hold has ended; place a new one.", error_code="HOLD_EXPIRED")
    hold.expires_at = expires_at
    await session.commit()
    return hold


async def release_hold(
    session: AsyncSession, *, seats: RedisSeats, hold_id: UUID, holder: Identity, clock: Clock
) -> None:
    """Give the seats back now. Releasing a hold that already ended changes nothing."""
    hold = await get_hold(session, hold_id=hold_id, holder=holder)
    await session.refresh(hold, with_for_update=True)
    if hold.status == "confirmed":
        raise Conflict("The hold became a booking; cancel the booking instead.", error_code="HOLD_CONFIRMED")
    if hold.status != "active":
        return
    hold.status = "released"
    hold.ended_at = clock.now()
    add_event(
        session,
        HoldReleased(hold_id=hold.id, slot_id=hold.slot_id, listing_id=hold.listing_id, seats=hold.seats),
        producer=PRODUCER,
        key=str(hold.slot_id),
    )
    await session.commit()
    # If Redis lost the slot, it is rebuilt from PostgreSQL, where the hold is released already.
    with contextlib.suppress(SlotNotLoaded):
        await seats.release(hold.slot_id, hold_id=hold.id, seats=hold.seats, now=clock.now())
    await announce_hold_change(session, seats=seats, hold=hold, change="hold_released", clock=clock)


async def release_expired_holds(
    session_factory: async_sessionmaker[AsyncSession], *, seats: RedisSeats, clock: Clock, batch_size: int = 200
) -> int:
    """Record holds whose time ran out as expired, with an event each. Their seats went back
    on sale in Redis at the expiry instant; this keeps PostgreSQL and the event stream in step."""
    now = clock.now()
    async with session_factory() as session, session.begin():
        expired = (
            await session.scalars(
                select(SeatHold)
                .where(SeatHold.status == "active", SeatHold.expires_at <= now)
                .order_by(SeatHold.expires_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for hold in expired:
            hold.status = "expired"
            hold.ended_at = now
            add_event(
                session,
                HoldExpired(hold_id=hold.id, slot_id=hold.slot_id, listing_id=hold.listing_id, seats=hold.seats),
                producer=PRODUCER,
                key=str(hold.slot_id),
            )
    async with session_factory() as session:
        for hold in expired:
            with contextlib.suppress(SlotNotLoaded):
                await seats.release(hold.slot_id, hold_id=hold.id, seats=hold.seats, now=now)
            await announce_hold_change(session, seats=seats, hold=hold, change="hold_expired", clock=clock)
    return len(expired)
