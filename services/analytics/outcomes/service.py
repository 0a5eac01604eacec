"""Cancellations, no-shows and completions of confirmed bookings, from booking's events only
(rules in domain.py). Each handler merges its event into the booking's facts and, when that moves
the booking to another group or outcome, moves its count in the day rollup: a report sums days.

Every handler applies its event once (the inbox) and holds the booking's advisory lock, and the
merge does not depend on the order events arrive in, so a replay into an empty schema counts the same.
"""

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Literal
from uuid import UUID

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.listings.models import ListingDimension
from services.analytics.listings.service import remember_listing
from services.analytics.outcomes.domain import (
    OUTCOME_COLUMNS,
    BookingOutcomeFacts,
    Ending,
    Outcome,
    OutcomeCounts,
    Placement,
    as_outcome,
    cancellation_outcome,
    service_date,
)
from services.analytics.outcomes.models import BookingOutcome, OutcomeDay
from services.analytics.outcomes.schemas import Cancellations, OutcomeGroup
from shared.contracts.booking import (
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingModified,
    BookingNoShow,
)
from shared.errors import InvalidInput
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for
from shared.identity import Identity

GroupBy = Literal["listing", "provider"]
COUNT_COLUMNS = tuple(OUTCOME_COLUMNS.values())
# The columns of a row of the report, as the CSV export names them.
CANCELLATION_COLUMNS = (
    "group",
    "provider_id",
    "listing_id",
    "title",
    "confirmed",
    "open",
    "completed",
    "no_shows",
    "cancelled",
    "cancelled_by_traveler",
    "unpaid_balance",
    "cancelled_by_provider",
    "blackouts",
    "cancellation_rate",
    "traveler_cancellation_rate",
    "provider_cancellation_rate",
    "no_show_rate",
)


async def _lock_booking(session: AsyncSession, booking_id: UUID) -> None:
    # Seed 1: not the revenue consumer's lock of the same booking (seed 0), which it need not wait for.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(booking_id), 1))))


def _facts(row: BookingOutcome | None) -> BookingOutcomeFacts:
    if row is None:
        return BookingOutcomeFacts()
    placement = None
    if row.provider_id and row.listing_id and row.service_date and row.placed_at:
        placement = Placement(row.provider_id, row.listing_id, row.service_date, row.placed_at)
    ending = None
    if row.outcome != "open" and row.ended_at is not None:
        ending = Ending(as_outcome(row.outcome), row.ended_at)
    return BookingOutcomeFacts(placement=placement, confirmed=row.confirmed, ending=ending)


async def _count(session: AsyncSession, counted: tuple[UUID, UUID, date, Outcome], by: int) -> None:
    provider_id, listing_id, day, outcome = counted
    column = OUTCOME_COLUMNS[outcome]
    statement = insert(OutcomeDay).values(
        service_date=day, provider_id=provider_id, listing_id=listing_id, **{column: by}
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["service_date", "provider_id", "listing_id"],
            set_={column: getattr(OutcomeDay, column) + getattr(statement.excluded, column)},
        )
    )


async def _merge(
    session: AsyncSession, booking_id: UUID, change: Callable[[BookingOutcomeFacts], BookingOutcomeFacts]
) -> None:
    await _lock_booking(session, booking_id)
    row = await session.get(BookingOutcome, booking_id)
    before = _facts(row)
    after = change(before)
    if after == before:
        return
    if row is None:
        row = BookingOutcome(booking_id=booking_id)
        session.add(row)
    if after.placement is not None:
        row.provider_id, row.listing_id = after.placement.provider_id, after.placement.listing_id
        row.service_date, row.placed_at = after.placement.service_date, after.placement.at
    row.confirmed = after.confirmed
    row.outcome = after.outcome
    row.ended_at = after.ending.at if after.ending else None
    old, new = before.counted_as(), after.counted_as()
    if old != new:
        if old is not None:
            await _count(session, old, -1)
        if new is not None:
            await _count(session, new, 1)


async def record_confirmed(session: AsyncSession, booking: BookingConfirmed) -> None:
    await remember_listing(session, booking)
    placement = Placement(
        booking.provider_id,
        booking.listing_id,
        service_date(booking.starts_at, booking.timezone),
        booking.confirmed_at,
    )
    await _merge(session, booking.booking_id, lambda facts: facts.placed(placement).was_confirmed())


async def record_modified(session: AsyncSession, change: BookingModified) -> None:
    """A change may move the booking to another date or listing: it counts there from now on."""
    placement = Placement(
        change.provider_id, change.listing_id, service_date(change.starts_at, change.timezone), change.modified_at
    )
    await _merge(session, change.booking_id, lambda facts: facts.placed(placement))


async def record_cancelled(session: AsyncSession, cancellation: BookingCancelled) -> None:
    placement = Placement(
        cancellation.provider_id,
        cancellation.listing_id,
        service_date(cancellation.starts_at, cancellation.timezone),
        cancellation.cancelled_at,
    )
    ending = Ending(
        cancellation_outcome(
            cancelled_by=cancellation.cancelled_by, reason=cancellation.reason, blackout_id=cancellation.blackout_id
        ),
        cancellation.cancelled_at,
    )

    def apply(facts: BookingOutcomeFacts) -> BookingOutcomeFacts:
        facts = facts.placed(placement).ended(ending)
        return facts.was_confirmed() if cancellation.was_confirmed else facts

    await _merge(session, cancellation.booking_id, apply)


async def record_completed(session: AsyncSession, completion: BookingCompleted) -> None:
    ending = Ending("completed", completion.completed_at)
    await _merge(session, completion.booking_id, lambda facts: facts.was_confirmed().ended(ending))


async def record_no_show(session: AsyncSession, no_show: BookingNoShow) -> None:
    ending = Ending("no_show", no_show.reported_at)
    await _merge(session, no_show.booking_id, lambda facts: facts.was_confirmed().ended(ending))


OUTCOME_EVENTS = ConsumerSpec(
    name="analytics.outcomes",
    topics=(topic_for("booking"),),
    handlers=dict(
        [
            handles(BookingConfirmed, record_confirmed),
            handles(BookingModified, record_modified),
            handles(BookingCancelled, record_cancelled),
            handles(BookingCompleted, record_completed),
            handles(BookingNoShow, record_no_show),
        ]
    ),
)


async def cancellations(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    group_by: GroupBy,
    limit: int,
    cursor: str | None = None,
) -> Cancellations:
    """Confirmed bookings whose service date is in [start, end], by outcome, per listing or per
    provider (ordered by its id, `limit` a page); a provider sees their own only."""
    key_column = OutcomeDay.listing_id if group_by == "listing" else OutcomeDay.provider_id
    sums = [func.sum(getattr(OutcomeDay, column)).label(column) for column in COUNT_COLUMNS]
    grouped = (
        select(key_column.label("key"), func.min(cast(OutcomeDay.provider_id, String)).label("provider"), *sums)
        .where(OutcomeDay.service_date >= start, OutcomeDay.service_date <= end)
        .group_by(key_column)
    )
    if not viewer.is_admin:
        grouped = grouped.where(OutcomeDay.provider_id == viewer.user_id)
    if cursor is not None:
        grouped = grouped.where(key_column > _cursor_id(cursor))
    page = grouped.order_by(key_column).limit(limit + 1).subquery()
    if group_by == "listing":
        query = select(page, ListingDimension.title).outerjoin(
            ListingDimension, ListingDimension.listing_id == page.c.key
        )
    else:
        query = select(page, literal(None, String).label("title"))
    rows = (await session.execute(query.order_by(page.c.key))).all()
    items = []
    for row in rows[:limit]:
        counts = OutcomeCounts(**{column: int(getattr(row, column)) for column in COUNT_COLUMNS})
        items.append(
            OutcomeGroup(
                group=str(row.key),
                provider_id=UUID(row.provider),
                listing_id=row.key if group_by == "listing" else None,
                title=row.title,
                confirmed=counts.confirmed,
                open=counts.open,
                completed=counts.completed,
                no_shows=counts.no_shows,
                cancelled=counts.cancelled,
                cancelled_by_traveler=counts.travelers_cancelled,
                unpaid_balance=counts.unpaid_balance,
                cancelled_by_provider=counts.providers_cancelled,
                blackouts=counts.blackouts,
                cancellation_rate=_as_float(counts.cancellation_rate),
                traveler_cancellation_rate=_as_float(counts.traveler_cancellation_rate),
                provider_cancellation_rate=_as_float(counts.provider_cancellation_rate),
                no_show_rate=_as_float(counts.no_show_rate),
            )
        )
    next_cursor = str(rows[limit - 1].key) if len(rows) > limit else None
    return Cancellations(start=start, end=end, group_by=group_by, items=items, next_cursor=next_cursor)


async def cancellation_rows(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, group_by: GroupBy, page_size: int = 500
) -> AsyncIterator[dict[str, object]]:
    """Every group of the report, a page at a time, as rows of CANCELLATION_COLUMNS (for a CSV export)."""
    cursor: str | None = None
    while True:
        page = await cancellations(
            session, viewer=viewer, start=start, end=end, group_by=group_by, limit=page_size, cursor=cursor
        )
        for item in page.items:
            row = item.model_dump()
            yield {column: row[column] for column in CANCELLATION_COLUMNS}
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _as_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def _cursor_id(cursor: str) -> UUID:
    try:
        return UUID(cursor)
    except ValueError:
        raise InvalidInput("Not a cursor of this report.", details={"cursor": cursor}) from None
