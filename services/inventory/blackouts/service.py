"""Blackouts: close every slot in a date range, for one listing or for all of them."""

from datetime import date
from uuid import UUID, uuid4

from redis.asyncio import Redis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.inventory.blackouts.events import SlotsBlackedOut
from services.inventory.blackouts.models import Blackout
from services.inventory.blackouts.schemas import BlackoutCreate, BlackoutOut
from services.inventory.calendar.cache import calendar_changed
from services.inventory.feed.publisher import slot_changed
from services.inventory.holds.service import PRODUCER
from services.inventory.listings.lookup import get_owned_listing
from services.inventory.schedules.models import Slot
from shared.auth import Identity
from shared.clock import Clock
from shared.events.outbox import add_event


async def create_blackout(
    session: AsyncSession,
    *,
    redis: Redis,
    listing_id: UUID | None,
    author: Identity,
    fields: BlackoutCreate,
    clock: Clock,
) -> BlackoutOut:
    """Record the blackout and close the open slots it covers, in one transaction."""
    if listing_id is not None:
        await get_owned_listing(session, listing_id=listing_id, owner=author)
    blackout = Blackout(id=uuid4(), listing_id=listing_id, created_by=author.user_id, **fields.model_dump())
    session.add(blackout)
    covered: list[ColumnElement[bool]] = [
        Slot.local_date.between(fields.start_date, fields.end_date),
        Slot.closed_at.is_(None),
    ]
    if listing_id is not None:
        covered.append(Slot.listing_id == listing_id)
    closed = (
        await session.execute(
            update(Slot)
            .where(*covered)
            .values(closed_at=clock.now(), closed_reason="blackout")
            .returning(Slot.id, Slot.listing_id, Slot.capacity, Slot.confirmed_seats)
        )
    ).all()
    with_bookings = [row.id for row in closed if row.confirmed_seats > 0]
    add_event(
        session,
        SlotsBlackedOut(
            blackout_id=blackout.id,
            listing_id=listing_id,
            start_date=fields.start_date,
            end_date=fields.end_date,
            reason=fields.reason,
            slots_closed=[row.id for row in closed],
            slots_with_bookings=with_bookings,
        ),
        producer=PRODUCER,
        key=str(listing_id or blackout.id),
    )
    await session.commit()
    await calendar_changed(redis, listing_id)
    for row in closed:
        await slot_changed(
            redis,
            listing_id=row.listing_id,
            slot_id=row.id,
            available=0,
            capacity=row.capacity,
            change="slot_closed",
            seats=0,
            at=clock.now(),
        )
    out = BlackoutOut.model_validate(blackout)
    return out.model_copy(update={"slots_closed": len(closed), "slots_with_bookings": with_bookings})


async def blacked_out_dates(session: AsyncSession, *, listing_id: UUID, start: date, end: date) -> set[date]:
    """The dates in [start, end] a listing's own or a global blackout covers."""
    rows = (
        await session.execute(
            select(Blackout.start_date, Blackout.end_date).where(
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
