"""Which dates and slots blackouts in force cover."""

from datetime import date
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.blackouts.models import Blackout
from services.inventory.schedules.models import Slot


def in_force() -> ColumnElement[bool]:
    return Blackout.lifted_at.is_(None)


async def blacked_out_dates(session: AsyncSession, *, listing_id: UUID, start: date, end: date) -> set[date]:
    """The dates in [start, end] a listing's own or a global blackout in force covers."""
    rows = (
        await session.execute(
            select(Blackout.start_date, Blackout.end_date).where(
                in_force(),
                or_(Blackout.listing_id == listing_id, Blackout.listing_id.is_(None)),
                Blackout.start_date <= end,
                Blackout.end_date >= start,
            )
        )
    ).all()
    dates: set[date] = set()
    for row in rows:
        day = max(row.start_date, start)
        while day <= min(row.end_date, end):
            dates.add(day)
            day = date.fromordinal(day.toordinal() + 1)
    return dates


def slot_blacked_out() -> ColumnElement[bool]:
    """True for a slot whose date a blackout in force covers (its listing's own or a global one)."""
    return exists(
        select(Blackout.id).where(
            in_force(),
            or_(Blackout.listing_id == Slot.listing_id, Blackout.listing_id.is_(None)),
            and_(Blackout.start_date <= Slot.local_date, Blackout.end_date >= Slot.local_date),
        )
    )
