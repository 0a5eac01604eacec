"""Schedules and the slots they generate; availability of a listing on a date."""

from datetime import date, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inventory.blackouts.service import blacked_out_dates
from services.inventory.calendar.cache import calendar_changed
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import available_seats
from services.inventory.listings.models import Listing
from services.inventory.listings.service import get_listing, get_owned_listing
from services.inventory.schedules.domain import Rule, local_start_in_utc, run_dates
from services.inventory.schedules.models import Schedule, Slot
from services.inventory.schedules.schemas import (
    Availability,
    Price,
    ScheduleCreate,
    ScheduleOut,
    SlotAvailability,
)
from shared.auth import Identity
from shared.clock import Clock


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
    rows = []
    for day in run_dates(rule, start=today, end=horizon_end):
        if day in closed_days:
            continue
        starts_at = local_start_in_utc(day, schedule.start_time, listing.timezone)
        if starts_at <= clock.now():
            continue
        rows.append(
            {
                "listing_id": listing.id,
                "schedule_id": schedule.id,
                "local_date": day,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=schedule.duration_minutes),
                "capacity": schedule.capacity,
                "confirmed_seats": 0,
                "price_override": schedule.price_override,
            }
        )
    if not rows:
        return 0
    result = await session.execute(
        insert(Slot).values(rows).on_conflict_do_nothing(index_elements=["schedule_id", "starts_at"]).returning(Slot.id)
    )
    return len(result.all())


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
    now = clock.now()
    slots = (
        await session.scalars(
            select(Slot)
            .where(
                Slot.listing_id == listing.id, Slot.local_date == day, Slot.closed_at.is_(None), Slot.starts_at > now
            )
            .order_by(Slot.starts_at)
        )
    ).all()
    zone = ZoneInfo(listing.timezone)
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
                capacity=slot.capacity,
                available=available,
                price=Price(amount=slot.price_override or listing.base_price, currency=listing.currency),
            )
        )
    return Availability(listing_id=listing.id, date=day, party_size=party_size, slots=offered)
