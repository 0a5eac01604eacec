"""Schedules and the slots they generate; availability of a listing on a date."""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.blackouts.repository import blacked_out_dates
from services.inventory.calendar.cache import calendar_changed
from services.inventory.feed.publisher import slot_changed
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import available_seats, change_capacity, seats_taken
from services.inventory.listings.domain import OpenDays
from services.inventory.listings.lookup import get_listing, get_owned_listing
from services.inventory.listings.models import Listing
from services.inventory.pricing.domain import Party
from services.inventory.pricing.service import listing_rules, quote_slot, slot_unit_price
from services.inventory.schedules.domain import Rule, local_start_in_utc, run_dates
from services.inventory.schedules.models import DayPool, Schedule, Slot
from services.inventory.schedules.schemas import (
    Availability,
    DayOut,
    DayUpdate,
    ScheduleChange,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    SlotOut,
    SlotUpdate,
)
from shared.clock import Clock
from shared.contracts.inventory_api import OpenSlots, Price, PriceRange, SlotAvailability, SlotForRequest
from shared.errors import Conflict, InvalidInput, NotFound
from shared.identity import Identity
from shared.money import money, require_exact_amount

# Open slots are asked for over at most a month.
MAX_OPEN_SLOT_DAYS = 31


def open_days_of(listing: Listing) -> OpenDays | None:
    """The open days that restrict a calendar-mode listing; None when every day is open."""
    if listing.availability_mode != "calendar" or listing.open_days is None:
        return None
    return OpenDays.model_validate(listing.open_days)


async def generate_slots(
    session: AsyncSession, *, schedule: Schedule, listing: Listing, clock: Clock, horizon_days: int
) -> int:
    """Create the schedule's slots from today to the horizon; running it again adds only what
    is missing. Returns how many slots were created."""
    today = clock.now().astimezone(ZoneInfo(listing.timezone)).date()
    rule = Rule(
        recurrence=schedule.recurrence,  # type: ignore[arg-type]
        valid_from=schedule.valid_from,
        valid_until=schedule.valid_until,
        weekdays=tuple(schedule.weekdays),
    )
    horizon_end = today + timedelta(days=horizon_days)
    closed_days = await blacked_out_dates(session, listing_id=listing.id, start=today, end=horizon_end)
    open_days = open_days_of(listing)
    starts = {}
    for day in run_dates(rule, start=today, end=horizon_end):
        if day in closed_days or (open_days is not None and not open_days.is_open(day)):
            continue
        starts_at = local_start_in_utc(day, schedule.start_time, listing.timezone)
        if starts_at > clock.now():
            starts[day] = starts_at
    if not starts:
        return 0
    pools = await day_pools_for(session, listing=listing, days=set(starts)) if listing.capacity_per == "day" else {}
    rows = [
        {
            "listing_id": listing.id,
            "schedule_id": schedule.id,
            "local_date": day,
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=schedule.duration_minutes),
            # A slot of a day pool mirrors the pool's capacity and sells from it.
            "capacity": pools[day][1] if pools else schedule.capacity,
            "pool_id": pools[day][0] if pools else None,
            "confirmed_seats": 0,
            "price_override": schedule.price_override,
        }
        for day, starts_at in starts.items()
    ]
    result = await session.execute(
        insert(Slot).values(rows).on_conflict_do_nothing(index_elements=["schedule_id", "starts_at"]).returning(Slot.id)
    )
    return len(result.all())


async def day_pools_for(session: AsyncSession, *, listing: Listing, days: set[date]) -> dict[date, tuple[UUID, int]]:
    """The day pools of a listing with capacity per day, made at its `day_capacity` where a
    date has none yet: (pool id, capacity) by date."""
    await session.execute(
        insert(DayPool)
        .values(
            [
                {"listing_id": listing.id, "local_date": day, "capacity": listing.day_capacity, "confirmed_seats": 0}
                for day in sorted(days)
            ]
        )
        .on_conflict_do_nothing(index_elements=["listing_id", "local_date"])
    )
    found = await session.execute(
        select(DayPool.local_date, DayPool.id, DayPool.capacity).where(
            DayPool.listing_id == listing.id, DayPool.local_date.in_(days)
        )
    )
    return {row.local_date: (row.id, row.capacity) for row in found}


def check_schedule_capacity(listing: Listing, capacity: int | None) -> None:
    """A schedule gives seats per slot, except on listings whose capacity is per day."""
    if listing.capacity_per == "day" and capacity is not None:
        raise InvalidInput(
            "This listing's capacity is per day (day_capacity); its schedules give only times.",
            details={"capacity": capacity},
        )
    if listing.capacity_per == "slot" and capacity is None:
        raise InvalidInput("A schedule needs a capacity.", details={"capacity": None})


def check_price_override(listing: Listing, price: Decimal | None) -> None:
    if price is not None:
        require_exact_amount(price, listing.currency, field="price_override")


async def top_up_slots(
    session_factory: async_sessionmaker[AsyncSession], *, redis: Redis, clock: Clock, horizon_days: int
) -> int:
    """Keep every running schedule's slots generated up to the rolling horizon; returns how
    many slots were added. Safe to run as often as wanted: generation only adds what is missing."""
    today = clock.now().date()
    added = 0
    async with session_factory() as session:
        schedules = (
            await session.execute(
                select(Schedule, Listing)
                .join(Listing, Listing.id == Schedule.listing_id)
                .where(
                    Listing.archived_at.is_(None),
                    or_(Schedule.valid_until.is_(None), Schedule.valid_until >= today),
                )
            )
        ).all()
    for schedule, listing in schedules:
        async with session_factory() as session, session.begin():
            created = await generate_slots(
                session, schedule=schedule, listing=listing, clock=clock, horizon_days=horizon_days
            )
        if created:
            added += created
            await calendar_changed(redis, listing.id)
    return added


async def create_schedule(
    session: AsyncSession,
    *,
    redis: Redis,
    listing_id: UUID,
    owner: Identity,
    fields: ScheduleCreate,
    clock: Clock,
    horizon_days: int,
) -> ScheduleOut:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    check_schedule_capacity(listing, fields.capacity)
    check_price_override(listing, fields.price_override)
    schedule = Schedule(listing_id=listing.id, **fields.model_dump())
    session.add(schedule)
    await session.flush()
    created = await generate_slots(session, schedule=schedule, listing=listing, clock=clock, horizon_days=horizon_days)
    await session.commit()
    await calendar_changed(redis, listing.id)
    out = ScheduleOut.model_validate(schedule)
    return out.model_copy(update={"slots_generated": created})


async def availability_on(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    day: date,
    party_size: int,
    clock: Clock,
) -> Availability:
    listing = await get_listing(session, listing_id=listing_id)
    slots = await _slots_with_seats(
        session, seats=seats, listing=listing, first=day, last=day, party_size=party_size, clock=clock
    )
    return Availability(listing_id=listing.id, date=day, party_size=party_size, slots=slots)


async def open_slots(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    first: date,
    last: date,
    party_size: int,
    clock: Clock,
) -> OpenSlots:
    """The slots of a listing from `first` to `last` (local dates) with seats for the party."""
    if last < first or (last - first).days >= MAX_OPEN_SLOT_DAYS:
        raise InvalidInput(
            f"Give a range of 1 to {MAX_OPEN_SLOT_DAYS} days.", details={"from": str(first), "to": str(last)}
        )
    listing = await get_listing(session, listing_id=listing_id)
    slots = await _slots_with_seats(
        session, seats=seats, listing=listing, first=first, last=last, party_size=party_size, clock=clock
    )
    return OpenSlots(listing_id=listing.id, first=first, last=last, party_size=party_size, slots=slots)


async def _slots_with_seats(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing: Listing,
    first: date,
    last: date,
    party_size: int,
    clock: Clock,
) -> list[SlotAvailability]:
    if not listing.on_sale:
        return []
    slots = (
        await session.scalars(
            select(Slot)
            .where(
                Slot.listing_id == listing.id,
                Slot.local_date.between(first, last),
                Slot.closed_at.is_(None),
                Slot.starts_at > clock.now(),
            )
            .order_by(Slot.starts_at)
        )
    ).all()
    zone = ZoneInfo(listing.timezone)
    rules = listing_rules(listing)
    estimate = (
        PriceRange(
            min=money(rules.estimate.min, listing.currency),
            max=money(rules.estimate.max, listing.currency),
            currency=listing.currency,
        )
        if rules.quote_only and rules.estimate is not None
        else None
    )
    offered = []
    for slot in slots:
        available = await available_seats(session, seats=seats, slot=slot, clock=clock)
        if available < party_size:
            continue
        offered.append(
            SlotAvailability(
                slot_id=slot.id,
                date=slot.local_date,
                start_time=slot.starts_at.astimezone(zone).strftime("%H:%M"),
                end_time=slot.ends_at.astimezone(zone).strftime("%H:%M"),
                timezone=listing.timezone,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                capacity=slot.capacity,
                available=available,
                price=None
                if estimate
                else Price(amount=slot_unit_price(listing, slot).amount, currency=listing.currency),
                estimate=estimate,
            )
        )
    return offered


async def slot_for_request(
    session: AsyncSession, *, seats: RedisSeats, slot_id: UUID, party: Party, clock: Clock
) -> SlotForRequest:
    """What booking checks a request for a slot against: its listing, whether it is on sale,
    the seats left and what the party would pay."""
    slot = await session.get(Slot, slot_id)
    listing = await session.get(Listing, slot.listing_id) if slot else None
    if slot is None or listing is None or listing.archived_at is not None:
        raise NotFound("No such slot.")
    on_sale = listing.on_sale and slot.closed_at is None and slot.starts_at > clock.now()
    zone = ZoneInfo(listing.timezone)
    return SlotForRequest(
        slot_id=slot.id,
        listing_id=listing.id,
        provider_id=listing.provider_id,
        provider_email=listing.provider_email,
        listing_title=listing.title,
        category=listing.category,
        booking_mode=listing.booking_mode,
        timezone=listing.timezone,
        currency=listing.currency,
        date=slot.local_date,
        start_time=slot.starts_at.astimezone(zone).strftime("%H:%M"),
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        on_sale=on_sale,
        available=await available_seats(session, seats=seats, slot=slot, clock=clock) if on_sale else 0,
        price=await quote_slot(session, listing_id=listing.id, slot_id=slot.id, party=party),
        max_party_size=listing.max_party_size,
    )


async def announce_slots(
    session: AsyncSession, *, seats: RedisSeats, listing: Listing, slots: Iterable[Slot], change: str, clock: Clock
) -> None:
    """Tell the feed and the calendar about slots whose capacity or opening changed."""
    for slot in slots:
        on_sale = slot.closed_at is None and listing.on_sale
        available = await available_seats(session, seats=seats, slot=slot, clock=clock) if on_sale else 0
        await slot_changed(
            seats.redis,
            listing_id=listing.id,
            slot_id=slot.id,
            available=available,
            capacity=slot.capacity,
            change=change,
            seats=0,
            at=clock.now(),
        )
    await calendar_changed(seats.redis, listing.id)


async def apply_open_days(session: AsyncSession, *, listing: Listing, clock: Clock, horizon_days: int) -> list[Slot]:
    """After a calendar-mode listing's open days change: close its future slots on days now
    closed, reopen the ones its calendar had closed on days now open, and generate what is
    missing. Bookings on a closed day stand (a blackout is what cancels them). Returns the
    slots that opened or closed; the caller commits."""
    open_days = open_days_of(listing)
    future = (
        await session.scalars(
            select(Slot)
            .where(Slot.listing_id == listing.id, Slot.starts_at > clock.now())
            .order_by(Slot.starts_at)
            .with_for_update()
        )
    ).all()
    changed = []
    for slot in future:
        day_open = open_days is None or open_days.is_open(slot.local_date)
        if slot.closed_at is None and not day_open:
            slot.closed_at, slot.closed_reason = clock.now(), "calendar"
            changed.append(slot)
        elif slot.closed_reason == "calendar" and day_open:
            slot.closed_at = slot.closed_reason = None
            changed.append(slot)
    schedules = (await session.scalars(select(Schedule).where(Schedule.listing_id == listing.id))).all()
    for schedule in schedules:
        await generate_slots(session, schedule=schedule, listing=listing, clock=clock, horizon_days=horizon_days)
    return changed


async def _owned_schedule(session: AsyncSession, *, listing: Listing, schedule_id: UUID) -> Schedule:
    schedule = await session.get(Schedule, schedule_id, with_for_update=True)
    if schedule is None or schedule.listing_id != listing.id:
        raise NotFound("No such schedule.")
    return schedule


async def list_schedules(session: AsyncSession, *, listing_id: UUID, owner: Identity) -> list[ScheduleOut]:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    schedules = (
        await session.scalars(select(Schedule).where(Schedule.listing_id == listing.id).order_by(Schedule.created_at))
    ).all()
    return [ScheduleOut.model_validate(schedule) for schedule in schedules]


async def update_schedule(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    schedule_id: UUID,
    owner: Identity,
    changes: ScheduleUpdate,
    clock: Clock,
    horizon_days: int,
) -> ScheduleChange:
    """Change a schedule and bring its future slots in line, never moving or dropping seats
    already confirmed or held (see `ScheduleChange`)."""
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    schedule = await _owned_schedule(session, listing=listing, schedule_id=schedule_id)
    current = ScheduleCreate.model_validate(schedule, from_attributes=True).model_dump()
    try:
        merged = ScheduleCreate.model_validate(current | changes.model_dump(exclude_unset=True))
    except ValidationError as error:
        raise InvalidInput(
            "The schedule would not be valid.", details={"errors": error.errors(include_url=False, include_input=False)}
        ) from None
    check_schedule_capacity(listing, merged.capacity)
    check_price_override(listing, merged.price_override)
    for name, value in merged.model_dump().items():
        setattr(schedule, name, value)

    now = clock.now()
    today = now.astimezone(ZoneInfo(listing.timezone)).date()
    horizon_end = today + timedelta(days=horizon_days)
    rule = Rule(
        recurrence=merged.recurrence,
        valid_from=merged.valid_from,
        valid_until=merged.valid_until,
        weekdays=tuple(merged.weekdays),
    )
    wanted = {
        local_start_in_utc(day, merged.start_time, listing.timezone)
        for day in run_dates(rule, start=today, end=horizon_end)
    }
    future = (
        await session.scalars(
            select(Slot)
            .where(Slot.schedule_id == schedule.id, Slot.starts_at > now)
            .order_by(Slot.starts_at)
            .with_for_update()
        )
    ).all()
    change = ScheduleChange(
        schedule=ScheduleOut.model_validate(schedule),
        slots_added=0,
        slots_updated=0,
        slots_closed=0,
        slots_reopened=0,
        booked_slots_closed=[],
        capacity_kept_at_taken=[],
    )
    touched: list[Slot] = []
    for slot in future:
        taken = await seats_taken(session, seats=seats, slot=slot, clock=clock)
        if slot.starts_at not in wanted:
            if slot.closed_at is None:
                slot.closed_at, slot.closed_reason = now, "schedule"
                change.slots_closed += 1
                touched.append(slot)
                if taken:
                    change.booked_slots_closed.append(slot.id)
            continue
        if slot.closed_reason == "schedule":
            slot.closed_at = slot.closed_reason = None
            change.slots_reopened += 1
        if taken == 0:
            slot.ends_at = slot.starts_at + timedelta(minutes=merged.duration_minutes)
        slot.price_override = merged.price_override
        if merged.capacity is not None and slot.capacity != merged.capacity:
            try:
                await change_capacity(session, seats=seats, pool=slot, capacity=merged.capacity, clock=clock)
            except Conflict as refused:
                await change_capacity(session, seats=seats, pool=slot, capacity=refused.details["taken"], clock=clock)
                change.capacity_kept_at_taken.append(slot.id)
        change.slots_updated += 1
        touched.append(slot)
    change.slots_added = await generate_slots(
        session, schedule=schedule, listing=listing, clock=clock, horizon_days=horizon_days
    )
    await session.commit()
    await announce_slots(session, seats=seats, listing=listing, slots=touched, change="schedule_changed", clock=clock)
    return change


async def _slot_out(session: AsyncSession, *, seats: RedisSeats, listing: Listing, slot: Slot, clock: Clock) -> SlotOut:
    available = 0 if slot.closed_at else await available_seats(session, seats=seats, slot=slot, clock=clock)
    return SlotOut.model_validate({**_slot_fields(slot), "timezone": listing.timezone, "available": available})


async def get_slot(
    session: AsyncSession, *, seats: RedisSeats, listing_id: UUID, slot_id: UUID, owner: Identity, clock: Clock
) -> SlotOut:
    """A slot with its counts, for its listing's owner."""
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    slot = await session.get(Slot, slot_id)
    if slot is None or slot.listing_id != listing.id:
        raise NotFound("No such slot.")
    return await _slot_out(session, seats=seats, listing=listing, slot=slot, clock=clock)


async def change_slot(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    slot_id: UUID,
    owner: Identity,
    changes: SlotUpdate,
    clock: Clock,
) -> SlotOut:
    """A provider's change to one slot: its capacity (never below the seats confirmed and
    held), its price, or taking it off sale and back."""
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    slot = await session.get(Slot, slot_id, with_for_update=True)
    if slot is None or slot.listing_id != listing.id:
        raise NotFound("No such slot.")
    if slot.starts_at <= clock.now():
        raise Conflict("The slot has started; it can no longer change.", error_code="SLOT_STARTED")
    given = changes.model_fields_set
    if "price_override" in given:
        check_price_override(listing, changes.price_override)
        slot.price_override = changes.price_override
    if changes.capacity is not None and changes.capacity != slot.capacity:
        if slot.pool_id is not None:
            raise Conflict(
                "This listing's capacity is per day; change the day's capacity instead.",
                error_code="CAPACITY_PER_DAY",
                details={"date": slot.local_date.isoformat()},
            )
        await change_capacity(session, seats=seats, pool=slot, capacity=changes.capacity, clock=clock)
    if changes.on_sale is False and slot.closed_at is None:
        slot.closed_at, slot.closed_reason = clock.now(), "provider"
    elif changes.on_sale is True and slot.closed_at is not None:
        if slot.closed_reason != "provider":
            raise Conflict(
                "The slot was closed by a blackout, the calendar or its schedule; change that instead.",
                error_code="SLOT_CLOSED",
                details={"closed_reason": slot.closed_reason},
            )
        slot.closed_at = slot.closed_reason = None
    await session.commit()
    await announce_slots(session, seats=seats, listing=listing, slots=[slot], change="slot_changed", clock=clock)
    return await _slot_out(session, seats=seats, listing=listing, slot=slot, clock=clock)


def _slot_fields(slot: Slot) -> dict[str, object]:
    return {name: getattr(slot, name) for name in SlotOut.model_fields.keys() - {"timezone", "available"}}


async def _lock_day_pool(session: AsyncSession, *, pool_id: UUID) -> tuple[DayPool, list[Slot]]:
    """Lock a day pool after its slots: selling seats locks a slot and then its pool, so
    taking them in the same order never deadlocks with a sale."""
    slots = (
        await session.scalars(select(Slot).where(Slot.pool_id == pool_id).order_by(Slot.id).with_for_update())
    ).all()
    pool = await session.get_one(DayPool, pool_id, with_for_update=True)
    return pool, list(slots)


async def apply_day_capacity(session: AsyncSession, *, seats: RedisSeats, listing: Listing, clock: Clock) -> list[Slot]:
    """After a listing's `day_capacity` changed: every pool from today on takes it, except one
    with more seats confirmed and held than that, which keeps exactly those. Returns the slots
    whose capacity changed; the caller commits."""
    assert listing.day_capacity is not None
    today = clock.now().astimezone(ZoneInfo(listing.timezone)).date()
    pool_ids = (
        await session.scalars(
            select(DayPool.id)
            .where(DayPool.listing_id == listing.id, DayPool.local_date >= today)
            .order_by(DayPool.local_date)
        )
    ).all()
    changed: list[Slot] = []
    for pool_id in pool_ids:
        pool, slots = await _lock_day_pool(session, pool_id=pool_id)
        if pool.capacity == listing.day_capacity:
            continue
        try:
            await change_capacity(session, seats=seats, pool=pool, capacity=listing.day_capacity, clock=clock)
        except Conflict as refused:
            await change_capacity(session, seats=seats, pool=pool, capacity=refused.details["taken"], clock=clock)
        changed += slots
    return changed


async def _owned_day(session: AsyncSession, *, listing_id: UUID, day: date, owner: Identity) -> tuple[Listing, UUID]:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    pool_id = await session.scalar(
        select(DayPool.id).where(DayPool.listing_id == listing.id, DayPool.local_date == day)
    )
    if pool_id is None:
        raise NotFound("This listing has no seats counted per day on that date.")
    return listing, pool_id


async def _day_out(
    session: AsyncSession, *, seats: RedisSeats, pool: DayPool, slots: list[Slot], clock: Clock
) -> DayOut:
    available = await available_seats(session, seats=seats, slot=slots[0], clock=clock) if slots else 0
    return DayOut(
        date=pool.local_date,
        capacity=pool.capacity,
        confirmed_seats=pool.confirmed_seats,
        available=max(available, 0),
        slots=len(slots),
    )


async def get_day(
    session: AsyncSession, *, seats: RedisSeats, listing_id: UUID, day: date, owner: Identity, clock: Clock
) -> DayOut:
    """The seats of one date of a listing with capacity per day, for its owner."""
    _, pool_id = await _owned_day(session, listing_id=listing_id, day=day, owner=owner)
    pool = await session.get_one(DayPool, pool_id)
    slots = (await session.scalars(select(Slot).where(Slot.pool_id == pool_id))).all()
    return await _day_out(session, seats=seats, pool=pool, slots=list(slots), clock=clock)


async def change_day(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    day: date,
    owner: Identity,
    changes: DayUpdate,
    clock: Clock,
) -> DayOut:
    """Set one date's capacity, never below the seats confirmed and held on it (409)."""
    listing, pool_id = await _owned_day(session, listing_id=listing_id, day=day, owner=owner)
    if day < clock.now().astimezone(ZoneInfo(listing.timezone)).date():
        raise Conflict("That day has passed; it can no longer change.", error_code="DAY_PASSED")
    pool, slots = await _lock_day_pool(session, pool_id=pool_id)
    if changes.capacity != pool.capacity:
        await change_capacity(session, seats=seats, pool=pool, capacity=changes.capacity, clock=clock)
    await session.commit()
    await announce_slots(session, seats=seats, listing=listing, slots=slots, change="day_changed", clock=clock)
    return await _day_out(session, seats=seats, pool=pool, slots=slots, clock=clock)
