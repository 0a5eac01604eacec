"""Occupancy from inventory's events only: each sale (inventory.seats_confirmed) and return
(inventory.seats_returned) of a hold's seats counts once (its `seat_change` row), into its slot's
row of seats sold; the capacity the slot sells from comes with them (optional fields, so events
written before they were carried leave it unknown until the slot's next sale or return), the
latest event's word winning (by its `occurred_at`) whatever order they arrive in.

What it cannot see: a slot that never sold a seat has no row (its seats offered are not counted
in its day), and a capacity changed after the slot's last sale or return is not known.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Literal, TypeVar
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.analytics.listings.models import ListingDimension
from services.analytics.listings.service import check_listing_visible
from services.analytics.occupancy.domain import occupancy
from services.analytics.occupancy.models import SeatChange, SlotOccupancy
from services.analytics.occupancy.schemas import Occupancy, OccupancyItem
from shared.contracts.inventory import SeatsConfirmed, SeatsReturned
from shared.errors import InvalidInput
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey
from shared.events.envelope import EventEnvelope, EventPayload, topic_for
from shared.identity import Identity

GroupBy = Literal["slot", "day"]
# The columns of a row of the report, as the CSV export names them.
OCCUPANCY_COLUMNS = (
    "listing_id",
    "provider_id",
    "title",
    "local_date",
    "slot_id",
    "starts_at",
    "slots",
    "capacity",
    "seats_sold",
    "occupancy",
)
PayloadT = TypeVar("PayloadT", bound=EventPayload)


def _handles_with_time(
    payload_type: type[PayloadT], apply: Callable[[AsyncSession, PayloadT, datetime], Awaitable[None]]
) -> tuple[HandlerKey, EventHandler]:
    """Like `handles`, with the envelope's `occurred_at` (inventory's events carry no time of their own)."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply(session, payload_type.model_validate(envelope.payload), envelope.occurred_at)

    return (payload_type.event_type, payload_type.event_version), handle


async def _count_seats(
    session: AsyncSession, event: SeatsConfirmed | SeatsReturned, *, change: str, sign: int, at: datetime
) -> None:
    counted = await session.scalar(
        insert(SeatChange)
        .values(hold_id=event.hold_id, change=change, slot_id=event.slot_id, seats=event.seats)
        .on_conflict_do_nothing()
        .returning(SeatChange.hold_id)
    )
    if counted is None:
        return
    statement = insert(SlotOccupancy).values(
        slot_id=event.slot_id,
        listing_id=event.listing_id,
        local_date=event.local_date,
        starts_at=event.starts_at,
        capacity=event.capacity,
        capacity_per_day=event.capacity_per_day,
        capacity_as_of=at if event.capacity is not None else None,
        seats_sold=sign * event.seats,
    )
    new, old = statement.excluded, SlotOccupancy
    # The newer capacity wins (at the same instant, the larger: the order of arrival never matters).
    newer = and_(
        new.capacity.is_not(None),
        or_(
            old.capacity_as_of.is_(None),
            new.capacity_as_of > old.capacity_as_of,
            and_(new.capacity_as_of == old.capacity_as_of, new.capacity > old.capacity),
        ),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["slot_id"],
            set_={
                "seats_sold": old.seats_sold + new.seats_sold,
                "local_date": func.coalesce(new.local_date, old.local_date),
                "starts_at": func.coalesce(new.starts_at, old.starts_at),
                "capacity": case((newer, new.capacity), else_=old.capacity),
                "capacity_per_day": case((newer, new.capacity_per_day), else_=old.capacity_per_day),
                "capacity_as_of": case((newer, new.capacity_as_of), else_=old.capacity_as_of),
            },
        )
    )


async def record_seats_sold(session: AsyncSession, event: SeatsConfirmed, at: datetime) -> None:
    await _count_seats(session, event, change="confirmed", sign=1, at=at)


async def record_seats_returned(session: AsyncSession, event: SeatsReturned, at: datetime) -> None:
    await _count_seats(session, event, change="returned", sign=-1, at=at)


OCCUPANCY_EVENTS = ConsumerSpec(
    name="analytics.occupancy",
    topics=(topic_for("inventory"),),
    handlers=dict(
        [
            _handles_with_time(SeatsConfirmed, record_seats_sold),
            _handles_with_time(SeatsReturned, record_seats_returned),
        ]
    ),
)


async def _visible(session: AsyncSession, viewer: Identity, listing_id: UUID | None) -> list[ColumnElement[bool]]:
    """The slots the viewer may see: their own listings' (an admin's: all), of `listing_id` if
    given. A provider's listings are named by id, so their slots are read by (listing, date)."""
    if listing_id is not None:
        await check_listing_visible(session, viewer=viewer, listing_id=listing_id)
        return [SlotOccupancy.listing_id == listing_id]
    if viewer.is_admin:
        return []
    own = await session.scalars(
        select(ListingDimension.listing_id).where(ListingDimension.provider_id == viewer.user_id)
    )
    return [SlotOccupancy.listing_id.in_(list(own))]


async def occupancy_report(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    group_by: GroupBy,
    listing_id: UUID | None = None,
    limit: int,
    cursor: str | None = None,
) -> Occupancy:
    """Seats sold out of seats offered on the listings' local dates [start, end], per slot (by its
    start) or per listing and day (by date), `limit` a page; a provider sees their own listings
    only, and a listing of someone else's is 404."""
    visible = await _visible(session, viewer, listing_id)
    known = and_(
        SlotOccupancy.local_date >= start, SlotOccupancy.local_date <= end, SlotOccupancy.capacity.is_not(None)
    )
    items: list[OccupancyItem] = []
    next_cursor: str | None = None
    if group_by == "slot":
        query = (
            select(SlotOccupancy, ListingDimension.provider_id, ListingDimension.title)
            .outerjoin(ListingDimension, ListingDimension.listing_id == SlotOccupancy.listing_id)
            .where(known)
        )
        order = (SlotOccupancy.local_date, SlotOccupancy.starts_at, SlotOccupancy.slot_id)
        if cursor is not None:
            query = query.where(tuple_(*order) > tuple_(*_slot_cursor(cursor)))
        query = query.where(*visible).order_by(*order)
        rows = (await session.execute(query.limit(limit + 1))).all()
        for slot, provider_id, title in rows[:limit]:
            assert slot.capacity is not None
            assert slot.local_date is not None
            items.append(
                OccupancyItem(
                    listing_id=slot.listing_id,
                    provider_id=provider_id,
                    title=title,
                    local_date=slot.local_date,
                    slot_id=slot.slot_id,
                    starts_at=slot.starts_at,
                    slots=1,
                    capacity=slot.capacity,
                    seats_sold=slot.seats_sold,
                    occupancy=_as_float(occupancy(slot.seats_sold, slot.capacity)),
                )
            )
        if len(rows) > limit:
            last = rows[limit - 1][0]
            assert last.local_date is not None
            assert last.starts_at is not None
            next_cursor = f"{last.local_date.isoformat()}|{last.starts_at.isoformat()}|{last.slot_id}"
    else:
        offered = func.sum(
            case((SlotOccupancy.capacity_per_day.is_(True), 0), else_=SlotOccupancy.capacity)
        ) + func.coalesce(func.max(case((SlotOccupancy.capacity_per_day.is_(True), SlotOccupancy.capacity))), 0)
        day_query = (
            select(
                SlotOccupancy.listing_id,
                SlotOccupancy.local_date,
                ListingDimension.provider_id,
                ListingDimension.title,
                func.count().label("slots"),
                func.sum(SlotOccupancy.seats_sold).label("sold"),
                offered.label("offered"),
            )
            .outerjoin(ListingDimension, ListingDimension.listing_id == SlotOccupancy.listing_id)
            .where(known)
            .group_by(
                SlotOccupancy.listing_id, SlotOccupancy.local_date, ListingDimension.provider_id, ListingDimension.title
            )
        )
        if cursor is not None:
            after_date, after_listing = _day_cursor(cursor)
            day_query = day_query.where(
                tuple_(SlotOccupancy.local_date, SlotOccupancy.listing_id) > tuple_(after_date, after_listing)
            )
        day_query = day_query.where(*visible).order_by(SlotOccupancy.local_date, SlotOccupancy.listing_id)
        day_rows = (await session.execute(day_query.limit(limit + 1))).all()
        for row in day_rows[:limit]:
            sold, capacity = int(row.sold), int(row.offered)
            items.append(
                OccupancyItem(
                    listing_id=row.listing_id,
                    provider_id=row.provider_id,
                    title=row.title,
                    local_date=row.local_date,
                    slot_id=None,
                    starts_at=None,
                    slots=row.slots,
                    capacity=capacity,
                    seats_sold=sold,
                    occupancy=_as_float(occupancy(sold, capacity)),
                )
            )
        if len(day_rows) > limit:
            last_row = day_rows[limit - 1]
            next_cursor = f"{last_row.local_date.isoformat()}|{last_row.listing_id}"
    return Occupancy(
        start=start, end=end, group_by=group_by, listing_id=listing_id, items=items, next_cursor=next_cursor
    )


async def occupancy_rows(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    group_by: GroupBy,
    listing_id: UUID | None = None,
    page_size: int = 500,
) -> AsyncIterator[dict[str, object]]:
    """Every row of the report, a page at a time, as rows of OCCUPANCY_COLUMNS (for a CSV export)."""
    cursor: str | None = None
    while True:
        page = await occupancy_report(
            session,
            viewer=viewer,
            start=start,
            end=end,
            group_by=group_by,
            listing_id=listing_id,
            limit=page_size,
            cursor=cursor,
        )
        for item in page.items:
            row = item.model_dump()
            yield {column: row[column] for column in OCCUPANCY_COLUMNS}
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _as_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def _parts(cursor: str, count: int) -> list[str]:
    parts = cursor.split("|")
    if len(parts) != count:
        raise InvalidInput("Not a cursor of this report.", details={"cursor": cursor})
    return parts


def _slot_cursor(cursor: str) -> tuple[date, datetime, UUID]:
    """(local date, start, slot id) of the last slot of the page before."""
    day, moment, slot_id = _parts(cursor, 3)
    try:
        after = date.fromisoformat(day), datetime.fromisoformat(moment), UUID(slot_id)
    except ValueError:
        raise InvalidInput("Not a cursor of this report.", details={"cursor": cursor}) from None
    if after[1].tzinfo is None:
        raise InvalidInput("Not a cursor of this report.", details={"cursor": cursor})
    return after


def _day_cursor(cursor: str) -> tuple[date, UUID]:
    """(local date, listing id) of the last day of the page before."""
    day, listing_id = _parts(cursor, 2)
    try:
        return date.fromisoformat(day), UUID(listing_id)
    except ValueError:
        raise InvalidInput("Not a cursor of this report.", details={"cursor": cursor}) from None
