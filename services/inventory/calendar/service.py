"""The monthly calendar of a listing, answered from a Redis cache that every change of the
listing's seats invalidates (see `cache.py`)."""

import calendar as month_days
from collections import Counter, defaultdict
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.calendar.cache import cache_key
from services.inventory.calendar.schemas import CalendarDay, MonthCalendar
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import available_seats
from services.inventory.listings.lookup import get_listing
from services.inventory.schedules.models import Slot
from shared.clock import Clock

CACHE_SECONDS = 300


async def month_calendar(
    session: AsyncSession, *, seats: RedisSeats, listing_id: UUID, year: int, month: int, clock: Clock
) -> MonthCalendar:
    # A hit needs no database: archiving or switching a listing off invalidates its entries.
    redis = seats.redis
    key = await cache_key(redis, listing_id, year, month)
    cached = await redis.get(key)
    if cached is not None:
        return MonthCalendar.model_validate_json(cached)
    listing = await get_listing(session, listing_id=listing_id)

    first, last = date(year, month, 1), date(year, month, month_days.monthrange(year, month)[1])
    slots = (
        []
        if not listing.on_sale
        else (
            await session.scalars(
                select(Slot).where(
                    Slot.listing_id == listing.id,
                    Slot.local_date.between(first, last),
                    Slot.closed_at.is_(None),
                    Slot.starts_at > clock.now(),
                )
            )
        ).all()
    )
    # Seats left per seat pool, by day: the slots of a day pool share one count.
    per_day: dict[date, dict[UUID, int]] = defaultdict(dict)
    for slot in slots:
        free = per_day[slot.local_date]
        if slot.seat_pool_id not in free:
            free[slot.seat_pool_id] = await available_seats(session, seats=seats, slot=slot, clock=clock)
    slot_count = Counter(slot.local_date for slot in slots)
    days = [
        CalendarDay(
            date=day,
            slots=slot_count[day],
            available_seats=sum(max(free, 0) for free in per_day[day].values()),
            has_availability=any(free > 0 for free in per_day[day].values()),
        )
        for day in (date(year, month, number) for number in range(1, last.day + 1))
    ]
    answer = MonthCalendar(listing_id=listing.id, year=year, month=month, days=days)
    await redis.set(key, answer.model_dump_json(), ex=CACHE_SECONDS)
    return answer
