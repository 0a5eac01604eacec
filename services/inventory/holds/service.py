"""Seat holds: placed atomically in Redis, recorded durably in PostgreSQL with their events."""

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.feed.publisher import slot_changed
from services.inventory.holds.metrics import count_hold, counting_sold_out
from services.inventory.holds.models import SeatHold
from services.inventory.holds.schemas import HoldCreate, HoldOut, InternalHoldCreate
from services.inventory.holds.seats import RedisSeats, SeatChange, SlotNotLoaded
from services.inventory.listings.models import Listing
from services.inventory.pricing.domain import Party, Quote, agreed_quote, party_from_ages
from services.inventory.pricing.schemas import QuoteOut
from services.inventory.pricing.service import listing_rules, price_party
from services.inventory.schedules.models import DayPool, Slot
from shared.clock import Clock
from shared.contracts.inventory import HoldExpired, HoldPlaced, HoldReleased
from shared.contracts.inventory_api import HoldDetails
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity
from shared.times import LocalTimes

logger = logging.getLogger(__name__)

PRODUCER = "inventory"
# A waitlist entry's hold has an id made from the entry's, so it is held at most once.
WAITLIST_HOLDS = UUID("6f1c2a8e-4b7d-4c1e-9a3f-2d5b8e0c7a14")
KEEP_AFTER_END = timedelta(days=1)
KEEP_AT_LEAST = timedelta(hours=1)


def waitlist_hold_id(entry_id: UUID) -> UUID:
    return uuid5(WAITLIST_HOLDS, str(entry_id))


SeatPool = Slot | DayPool
T = TypeVar("T")


async def seat_pool(session: AsyncSession, slot: Slot, *, lock: bool = False) -> SeatPool:
    """The row a slot's seats are counted on: the slot itself, or its date's pool. With
    `lock`, a pool's row is locked (a slot's own row is the caller's to lock): selling seats
    and reconciliation take that lock, so neither reads the counts half-way through the other."""
    if slot.pool_id is None:
        return slot
    return await session.get_one(DayPool, slot.pool_id, with_for_update=lock)


async def live_holds(session: AsyncSession, pool: SeatPool, *, now: datetime) -> list[tuple[UUID, int, datetime]]:
    """The holds recorded active and unexpired on a seat pool: (hold id, seats, expires at)."""
    query = select(SeatHold.id, SeatHold.seats, SeatHold.expires_at).where(
        SeatHold.status == "active", SeatHold.expires_at > now
    )
    if isinstance(pool, DayPool):
        query = query.join(Slot, Slot.id == SeatHold.slot_id).where(Slot.pool_id == pool.id)
    else:
        query = query.where(SeatHold.slot_id == pool.id)
    return [(row.id, row.seats, row.expires_at) for row in (await session.execute(query)).all()]


async def load_pool(session: AsyncSession, *, seats: RedisSeats, pool: SeatPool, clock: Clock) -> None:
    """Put a seat pool's counts into Redis from PostgreSQL: capacity, confirmed seats, live
    holds. They stay there until a day after the pool's last slot ends (or an hour, for one
    that has ended: a late event about it finds them), and are rebuilt if used after that."""
    now = clock.now()
    holds = await live_holds(session, pool, now=now)
    ends_at = (
        await session.scalar(select(func.max(Slot.ends_at)).where(Slot.pool_id == pool.id))
        if isinstance(pool, DayPool)
        else pool.ends_at
    ) or now
    keep_until = max(ends_at + KEEP_AFTER_END, now + KEEP_AT_LEAST)
    await seats.load(
        pool.id, capacity=pool.capacity, confirmed=pool.confirmed_seats, holds=holds, keep_until=keep_until
    )


async def on_loaded_pool(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    slot: Slot,
    clock: Clock,
    action: Callable[[UUID], Awaitable[T]],
) -> T:
    """Run a Redis seat operation on the slot's pool, first rebuilding the pool from
    PostgreSQL if Redis does not have it (after a restart, or on first use)."""
    try:
        return await action(slot.seat_pool_id)
    except SlotNotLoaded:
        await load_pool(session, seats=seats, pool=await seat_pool(session, slot), clock=clock)
        return await action(slot.seat_pool_id)


async def available_seats(session: AsyncSession, *, seats: RedisSeats, slot: Slot, clock: Clock) -> int:
    """Seats a slot can still sell: its own, or what its day's pool has left."""

    def available(pool_id: UUID) -> Awaitable[int]:
        return seats.available(pool_id, now=clock.now())

    return await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=available)


async def seats_taken(session: AsyncSession, *, seats: RedisSeats, slot: Slot, clock: Clock) -> int:
    """Seats confirmed or held on this slot itself (not on the rest of its day's pool)."""
    if slot.pool_id is None:
        # Redis counts a closed slot's live holds too, so this is every seat confirmed or held.
        return slot.capacity - await available_seats(session, seats=seats, slot=slot, clock=clock)
    held = await session.scalar(
        select(func.coalesce(func.sum(SeatHold.seats), 0)).where(
            SeatHold.slot_id == slot.id, SeatHold.status == "active", SeatHold.expires_at > clock.now()
        )
    )
    return slot.confirmed_seats + int(held or 0)


async def change_capacity(
    session: AsyncSession, *, seats: RedisSeats, pool: SeatPool, capacity: int, clock: Clock
) -> None:
    """Set a seat pool's capacity, in Redis atomically against concurrent holds and then on the
    row (and on a day pool's slots, which mirror it); 409 CAPACITY_BELOW_TAKEN if fewer seats
    than are confirmed and held. The caller holds the pool's row lock and commits."""
    if capacity < pool.confirmed_seats:
        raise _below_taken(pool, capacity, pool.confirmed_seats)
    try:
        change = await seats.set_capacity(pool.id, capacity=capacity, now=clock.now())
    except SlotNotLoaded:
        await load_pool(session, seats=seats, pool=pool, clock=clock)
        change = await seats.set_capacity(pool.id, capacity=capacity, now=clock.now())
    if not change.ok:
        raise _below_taken(pool, capacity, change.available)
    pool.capacity = capacity
    if isinstance(pool, DayPool):
        await session.execute(update(Slot).where(Slot.pool_id == pool.id).values(capacity=capacity))


def _below_taken(pool: SeatPool, capacity: int, taken: int) -> Conflict:
    where = {"date": pool.local_date.isoformat()} if isinstance(pool, DayPool) else {"slot_id": str(pool.id)}
    return Conflict(
        "The capacity cannot go below the seats already confirmed and held.",
        error_code="CAPACITY_BELOW_TAKEN",
        details={**where, "requested": capacity, "taken": taken},
    )


async def slots_sharing_seats(session: AsyncSession, slot: Slot) -> list[Slot]:
    """The slots whose availability moves with this one's: all of its day pool's, or itself."""
    if slot.pool_id is None:
        return [slot]
    return list(
        (await session.scalars(select(Slot).where(Slot.pool_id == slot.pool_id).order_by(Slot.starts_at))).all()
    )


async def announce_hold_change(
    session: AsyncSession, *, seats: RedisSeats, hold: SeatHold, change: str, clock: Clock
) -> None:
    """Tell the live feed (and the calendar cache) that the hold's slot changed, and with it
    every slot sharing its day's pool."""
    slot = await session.get_one(Slot, hold.slot_id)
    available = await available_seats(session, seats=seats, slot=slot, clock=clock)
    for changed in await slots_sharing_seats(session, slot):
        await slot_changed(
            seats.redis,
            listing_id=hold.listing_id,
            slot_id=changed.id,
            available=available if changed.closed_at is None else 0,
            capacity=changed.capacity,
            change=change,
            seats=hold.seats if changed.id == slot.id else 0,
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
    slot, listing = await _slot_on_sale(session, slot_id=request.slot_id, now=now)
    if listing.booking_mode != "instant":
        raise Conflict("This listing is booked on request, not held.", error_code="NOT_INSTANT_BOOKABLE")

    party = _party(request, listing)
    check_party_size(party, listing)
    await _one_hold_per_traveler(session, holder_id=holder.user_id, slot=slot, now=now)
    expires_at = now + timedelta(seconds=listing.hold_ttl_seconds)
    with counting_sold_out(session):
        hold = await reserve_and_record(
            session,
            seats=seats,
            slot=slot,
            listing=listing,
            holder_id=holder.user_id,
            party=party,
            hold_id=uuid4(),
            expires_at=expires_at,
            clock=clock,
        )
    try:
        await session.commit()
    except Exception:
        # The seats were taken in Redis first; give them back if the record could not be kept.
        await seats.release(slot.seat_pool_id, hold_id=hold.id, seats=party.seats, now=now)
        raise
    await announce_hold_change(session, seats=seats, hold=hold, change="hold_placed", clock=clock)
    return hold


def check_party_size(party: Party, listing: Listing) -> None:
    """422 PARTY_TOO_LARGE for a party above the listing's fair-use limit."""
    if party.seats > listing.max_party_size:
        raise InvalidInput(
            f"This listing takes parties of at most {listing.max_party_size}.",
            error_code="PARTY_TOO_LARGE",
            details={"max_party_size": listing.max_party_size, "requested": party.seats},
        )


async def _one_hold_per_traveler(session: AsyncSession, *, holder_id: UUID, slot: Slot, now: datetime) -> None:
    """409 HOLD_EXISTS if the traveler already holds seats of this slot's pool (the slot, or
    every slot of its day when seats are counted per day), whoever placed that hold. The
    traveler's lock on the pool is kept until the caller commits, so of concurrent holds by one
    traveler one is placed and the others are 409 HOLD_IN_PROGRESS at once: waiting for the
    lock would keep a database connection each, and a burst of them would starve the pool."""
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(f"hold:{holder_id}:{slot.seat_pool_id}", 0)))
    )
    if not locked:
        raise Conflict(
            "Another hold of yours on these seats is being placed right now.",
            error_code="HOLD_IN_PROGRESS",
            details={"slot_id": str(slot.id)},
        )
    query = select(SeatHold).where(
        SeatHold.holder_id == holder_id, SeatHold.status == "active", SeatHold.expires_at > now
    )
    if slot.pool_id is None:
        query = query.where(SeatHold.slot_id == slot.id)
    else:
        query = query.join(Slot, Slot.id == SeatHold.slot_id).where(Slot.pool_id == slot.pool_id)
    held = await session.scalar(query.order_by(SeatHold.created_at).limit(1))
    if held is not None:
        raise Conflict(
            "You already hold seats here; book from that hold or release it first.",
            error_code="HOLD_EXISTS",
            details={"hold_id": str(held.id), "slot_id": str(held.slot_id), "expires_at": held.expires_at.isoformat()},
        )


async def _slot_on_sale(session: AsyncSession, *, slot_id: UUID, now: datetime) -> tuple[Slot, Listing]:
    """The slot and its listing, if seats of it can be held now."""
    slot = await session.get(Slot, slot_id)
    listing = await session.get(Listing, slot.listing_id) if slot else None
    if slot is None or listing is None or listing.archived_at is not None:
        raise NotFound("No such slot.")
    if slot.closed_at is not None or slot.starts_at <= now:
        raise Conflict("This slot is no longer on sale.", error_code="SLOT_CLOSED")
    if not listing.on_sale:
        raise Conflict("This listing is not on sale at the moment.", error_code="NOT_ON_SALE")
    return slot, listing


async def place_hold_for(
    session: AsyncSession, *, seats: RedisSeats, request: InternalHoldCreate, clock: Clock
) -> HoldDetails:
    """Hold seats for a traveler on another service's word (an accepted booking request): in
    any booking mode, for the caller's TTL, at the agreed price if one is given. A retry with
    the same hold id gets the hold it placed. 409 SOLD_OUT when the seats are not there. Never
    refused for a hold the traveler already has: the platform decided to hold these seats for
    them (the party limit was checked when they asked)."""
    placed = await session.get(SeatHold, request.hold_id)
    if placed is not None:
        return await _placed_before(session, placed, request)
    now = clock.now()
    slot, listing = await _slot_on_sale(session, slot_id=request.slot_id, now=now)
    party = Party(adults=request.adults, children=request.children, infants=request.infants)
    price = None
    if request.agreed_total is not None:
        listed = None if listing_rules(listing).quote_only else price_party(listing, slot, party)
        price = agreed_quote(request.agreed_total, currency=listing.currency, listed=listed)
    with counting_sold_out(session):
        hold = await reserve_and_record(
            session,
            seats=seats,
            slot=slot,
            listing=listing,
            holder_id=request.holder_id,
            party=party,
            hold_id=request.hold_id,
            expires_at=now + timedelta(seconds=request.ttl_seconds),
            clock=clock,
            price=price,
        )
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent retry recorded this very hold first; Redis counts one member per hold,
        # so its seats are taken once and stay taken.
        await session.rollback()
        return await _placed_before(session, await session.get_one(SeatHold, request.hold_id), request)
    except Exception:
        await seats.release(slot.seat_pool_id, hold_id=hold.id, seats=party.seats, now=now)
        raise
    await announce_hold_change(session, seats=seats, hold=hold, change="hold_placed", clock=clock)
    return await hold_details(session, hold)


async def _placed_before(session: AsyncSession, hold: SeatHold, request: InternalHoldCreate) -> HoldDetails:
    if hold.holder_id != request.holder_id or hold.slot_id != request.slot_id:
        raise Conflict("This hold id belongs to another hold.", error_code="HOLD_ID_TAKEN")
    return await hold_details(session, hold)


async def reserve_and_record(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    slot: Slot,
    listing: Listing,
    holder_id: UUID,
    party: Party,
    hold_id: UUID,
    expires_at: datetime,
    clock: Clock,
    price: Quote | None = None,
) -> SeatHold:
    """Take the party's seats in Redis until `expires_at`, then add the hold's record and its
    event to the session; the caller commits (and releases the seats if that fails). The
    hold carries `price`, or else the listing's quote. 409 SOLD_OUT when the seats are not there."""
    now = clock.now()
    priced = price or price_party(listing, slot, party)

    def reserve(pool_id: UUID) -> Awaitable[SeatChange]:
        return seats.reserve(pool_id, hold_id=hold_id, seats=party.seats, now=now, expires_at=expires_at)

    change = await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=reserve)
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
        holder_id=holder_id,
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
            holder_id=holder_id,
            seats=party.seats,
            expires_at=expires_at,
            total=str(priced.total),
            currency=priced.currency,
            provider_id=listing.provider_id,
        ),
        producer=PRODUCER,
        key=str(slot.id),
    )
    count_hold(session, "placed")
    return hold


async def get_hold(session: AsyncSession, *, hold_id: UUID, holder: Identity) -> SeatHold:
    hold = await session.get(SeatHold, hold_id)
    if hold is None or (hold.holder_id != holder.user_id and not holder.is_admin):
        raise NotFound("No such hold.")
    return hold


async def get_hold_details(session: AsyncSession, *, hold_id: UUID, holder: Identity) -> HoldDetails:
    return await hold_details(session, await get_hold(session, hold_id=hold_id, holder=holder))


async def hold_out(session: AsyncSession, hold: SeatHold) -> HoldOut:
    """The hold as its holder sees it: with its slot's start and end, in UTC and local time."""
    slot = await session.get_one(Slot, hold.slot_id)
    listing = await session.get_one(Listing, hold.listing_id)
    return HoldOut.model_validate(_hold_fields(hold, slot, listing))


async def hold_details(session: AsyncSession, hold: SeatHold) -> HoldDetails:
    slot = await session.get_one(Slot, hold.slot_id)
    listing = await session.get_one(Listing, hold.listing_id)
    return HoldDetails.model_validate(
        {
            **_hold_fields(hold, slot, listing),
            "provider_id": listing.provider_id,
            "listing_title": listing.title,
            "category": listing.category,
            "cancellation_policy": listing.cancellation_policy,
        }
    )


def _hold_fields(hold: SeatHold, slot: Slot, listing: Listing) -> dict[str, Any]:
    return {
        **{name: getattr(hold, name) for name in HoldOut.model_fields.keys() - LocalTimes.model_fields.keys()},
        "timezone": listing.timezone,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
    }


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

    def extend(pool_id: UUID) -> Awaitable[bool]:
        return seats.extend(pool_id, hold_id=hold.id, seats=hold.seats, now=now, expires_at=expires_at)

    slot = await session.get_one(Slot, hold.slot_id)
    extended = await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=extend)
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
    count_hold(session, "released")
    slot = await session.get_one(Slot, hold.slot_id)
    add_event(
        session,
        HoldReleased(
            hold_id=hold.id,
            slot_id=hold.slot_id,
            listing_id=hold.listing_id,
            seats=hold.seats,
            local_date=slot.local_date,
        ),
        producer=PRODUCER,
        key=str(hold.slot_id),
    )
    await session.commit()
    await release_seats(session, seats=seats, slot=slot, hold=hold, clock=clock)
    await announce_hold_change(session, seats=seats, hold=hold, change="hold_released", clock=clock)


async def release_seats(session: AsyncSession, *, seats: RedisSeats, slot: Slot, hold: SeatHold, clock: Clock) -> None:
    """Take a released hold out of Redis. A pool Redis lost is loaded first rather than left
    to the next use: a load that read PostgreSQL before the release was committed would
    otherwise bring the hold back, and its seats would stay off sale until it expired."""

    def release(pool_id: UUID) -> Awaitable[SeatChange]:
        return seats.release(pool_id, hold_id=hold.id, seats=hold.seats, now=clock.now())

    await on_loaded_pool(session, seats=seats, slot=slot, clock=clock, action=release)


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
            count_hold(session, "expired")
            slot = await session.get_one(Slot, hold.slot_id)
            add_event(
                session,
                HoldExpired(
                    hold_id=hold.id,
                    slot_id=hold.slot_id,
                    listing_id=hold.listing_id,
                    seats=hold.seats,
                    local_date=slot.local_date,
                ),
                producer=PRODUCER,
                key=str(hold.slot_id),
            )
    async with session_factory() as session:
        for hold in expired:
            slot = await session.get_one(Slot, hold.slot_id)
            with contextlib.suppress(SlotNotLoaded):
                await seats.release(slot.seat_pool_id, hold_id=hold.id, seats=hold.seats, now=now)
            await announce_hold_change(session, seats=seats, hold=hold, change="hold_expired", clock=clock)
    return len(expired)
