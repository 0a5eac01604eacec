"""The conversion funnel and providers' response times, built from events only.

Steps, each counted on the UTC day it happened: listing views (inventory's
`listing_views_counted`, on the day of the hour they were counted in), holds (`hold_placed`,
when it was written), bookings (`booking.created`, when written), paid (the first
`booking.payment_received` of a booking, when written), confirmed (`booking.confirmed`, its
`confirmed_at`); requests (`booking_request.created`, `requested_at`) and accepted (`accepted`
at `responded_at`, `counter_accepted` at `counter_accepted_at`). A request's response time runs
from `requested_at` to its provider's first answer (accepted, declined or countered), counted on
the day of the answer; one left to expire has none.

Every handler applies its event once (the inbox; a view count's event id is the same each time
its batch is sent), and a booking's or request's row keeps each step to one count. Handlers keep
`funnel_day` (per UTC day, provider and listing) up to date: a report sums days, and computes
percentiles over the answered requests of the period only."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar
from uuid import UUID

from sqlalchemy import Date, DateTime, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.analytics.funnel.domain import MEDIAN, P90, rate
from services.analytics.funnel.models import FUNNEL_STEPS, FunnelBooking, FunnelDay, FunnelListing, FunnelRequest
from services.analytics.funnel.schemas import Conversion, FunnelFigures
from shared.contracts.booking import (
    BookingConfirmed,
    BookingCreated,
    BookingPaymentReceived,
    BookingRequestAccepted,
    BookingRequestCounterAccepted,
    BookingRequestCountered,
    BookingRequestCreated,
    BookingRequestDeclined,
    RequestFacts,
)
from shared.contracts.inventory import HoldPlaced, ListingViewsCounted
from shared.errors import Forbidden
from shared.events.consumer import ConsumerSpec, EventHandler, HandlerKey
from shared.events.envelope import EventEnvelope, EventPayload, topic_for
from shared.identity import Identity

GroupBy = Literal["day", "week", "month", "listing", "provider"]
# The group of a hold whose listing's provider is not known.
UNATTRIBUTED = "unattributed"
# The group of the whole period.
ALL = "all"
BookingStep = Literal["created", "paid", "confirmed"]
_STEP_COUNTS: dict[BookingStep, str] = {"created": "bookings", "paid": "paid", "confirmed": "confirmed"}
PayloadT = TypeVar("PayloadT", bound=EventPayload)


def handles_at(
    payload_type: type[PayloadT], apply: Callable[[AsyncSession, PayloadT, datetime], Awaitable[None]]
) -> tuple[HandlerKey, EventHandler]:
    """A handler entry that also receives when the event was written (its envelope's
    `occurred_at`), for events that carry no time of their own."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply(session, payload_type.model_validate(envelope.payload), envelope.occurred_at)

    return (payload_type.event_type, payload_type.event_version), handle


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


async def _count(
    session: AsyncSession, *, at: datetime, provider_id: UUID | None, listing_id: UUID, **steps: int
) -> None:
    """Add to the steps of the listing's day `at` falls on."""
    statement = insert(FunnelDay).values(day=_utc_day(at), provider_id=provider_id, listing_id=listing_id, **steps)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "provider_id", "listing_id"],
            set_={name: getattr(FunnelDay, name) + getattr(statement.excluded, name) for name in steps},
        )
    )


async def _learn_listing(session: AsyncSession, *, listing_id: UUID, provider_id: UUID) -> None:
    await session.execute(
        insert(FunnelListing).values(listing_id=listing_id, provider_id=provider_id).on_conflict_do_nothing()
    )


async def record_views(session: AsyncSession, counted: ListingViewsCounted, _written_at: datetime) -> None:
    await _learn_listing(session, listing_id=counted.listing_id, provider_id=counted.provider_id)
    await _count(
        session,
        at=counted.hour_start,
        provider_id=counted.provider_id,
        listing_id=counted.listing_id,
        views=counted.views,
    )


async def record_hold(session: AsyncSession, hold: HoldPlaced, written_at: datetime) -> None:
    """A hold from before holds named the provider counts to the listing's provider if another
    event told it, else to none."""
    provider_id = hold.provider_id
    if provider_id is None:
        provider_id = await session.scalar(
            select(FunnelListing.provider_id).where(FunnelListing.listing_id == hold.listing_id)
        )
    else:
        await _learn_listing(session, listing_id=hold.listing_id, provider_id=provider_id)
    await _count(session, at=written_at, provider_id=provider_id, listing_id=hold.listing_id, holds=1)


async def _booking_step(
    session: AsyncSession,
    *,
    booking_id: UUID,
    step: BookingStep,
    at: datetime,
    provider_id: UUID | None = None,
    listing_id: UUID | None = None,
) -> None:
    """Count the booking's step once; a step of a booking whose listing is not known yet (its
    payment read before its creation) counts when the listing is learned."""
    await session.execute(insert(FunnelBooking).values(booking_id=booking_id).on_conflict_do_nothing())
    row = await session.get_one(FunnelBooking, booking_id, with_for_update=True)
    learned = row.listing_id is None and listing_id is not None
    if learned:
        row.listing_id, row.provider_id = listing_id, provider_id
    first = getattr(row, f"{step}_at") is None
    if first:
        setattr(row, f"{step}_at", at)
    if row.listing_id is None:
        return
    to_count = _STEP_COUNTS if learned else ({step: _STEP_COUNTS[step]} if first else {})
    for counted_step, column in to_count.items():
        moment = getattr(row, f"{counted_step}_at")
        if moment is not None:
            await _count(session, at=moment, provider_id=row.provider_id, listing_id=row.listing_id, **{column: 1})


async def record_booking_created(session: AsyncSession, booking: BookingCreated, written_at: datetime) -> None:
    await _learn_listing(session, listing_id=booking.listing_id, provider_id=booking.provider_id)
    await _booking_step(
        session,
        booking_id=booking.booking_id,
        step="created",
        at=written_at,
        provider_id=booking.provider_id,
        listing_id=booking.listing_id,
    )


async def record_payment_received(session: AsyncSession, payment: BookingPaymentReceived, written_at: datetime) -> None:
    """Paid once: the event comes again when a change's new seats are to be sold."""
    await _booking_step(session, booking_id=payment.booking_id, step="paid", at=written_at)


async def record_booking_confirmed(session: AsyncSession, booking: BookingConfirmed, _written_at: datetime) -> None:
    await _learn_listing(session, listing_id=booking.listing_id, provider_id=booking.provider_id)
    await _booking_step(
        session,
        booking_id=booking.booking_id,
        step="confirmed",
        at=booking.confirmed_at,
        provider_id=booking.provider_id,
        listing_id=booking.listing_id,
    )


async def _request_row(session: AsyncSession, request: RequestFacts) -> FunnelRequest:
    await _learn_listing(session, listing_id=request.listing_id, provider_id=request.provider_id)
    await session.execute(
        insert(FunnelRequest)
        .values(
            request_id=request.request_id,
            provider_id=request.provider_id,
            listing_id=request.listing_id,
            requested_at=request.requested_at,
        )
        .on_conflict_do_nothing()
    )
    return await session.get_one(FunnelRequest, request.request_id, with_for_update=True)


async def record_request(session: AsyncSession, request: BookingRequestCreated, _written_at: datetime) -> None:
    await _request_row(session, request)
    await _count(
        session, at=request.requested_at, provider_id=request.provider_id, listing_id=request.listing_id, requests=1
    )


async def _answer(
    session: AsyncSession,
    request: RequestFacts,
    *,
    response: str,
    responded_at: datetime,
    accepted_at: datetime | None = None,
) -> None:
    """Keep the provider's first answer; count the request accepted once."""
    row = await _request_row(session, request)
    if row.responded_at is None or responded_at < row.responded_at:
        row.response, row.responded_at = response, responded_at
        row.response_seconds = (responded_at - row.requested_at).total_seconds()
    if accepted_at is not None and row.accepted_at is None:
        row.accepted_at = accepted_at
        await _count(session, at=accepted_at, provider_id=row.provider_id, listing_id=row.listing_id, accepted=1)


async def record_accepted(session: AsyncSession, answer: BookingRequestAccepted, _written_at: datetime) -> None:
    await _answer(
        session, answer, response="accepted", responded_at=answer.responded_at, accepted_at=answer.responded_at
    )


async def record_declined(session: AsyncSession, answer: BookingRequestDeclined, _written_at: datetime) -> None:
    await _answer(session, answer, response="declined", responded_at=answer.responded_at)


async def record_countered(session: AsyncSession, answer: BookingRequestCountered, _written_at: datetime) -> None:
    await _answer(session, answer, response="countered", responded_at=answer.responded_at)


async def record_counter_accepted(
    session: AsyncSession, answer: BookingRequestCounterAccepted, _written_at: datetime
) -> None:
    """The traveler took the counter-offer: the provider's answer was the counter."""
    await _answer(
        session, answer, response="countered", responded_at=answer.responded_at, accepted_at=answer.counter_accepted_at
    )


FUNNEL_EVENTS = ConsumerSpec(
    name="analytics.funnel",
    topics=(topic_for("inventory"), topic_for("booking")),
    handlers=dict(
        [
            handles_at(ListingViewsCounted, record_views),
            handles_at(HoldPlaced, record_hold),
            handles_at(BookingCreated, record_booking_created),
            handles_at(BookingPaymentReceived, record_payment_received),
            handles_at(BookingConfirmed, record_booking_confirmed),
            handles_at(BookingRequestCreated, record_request),
            handles_at(BookingRequestAccepted, record_accepted),
            handles_at(BookingRequestDeclined, record_declined),
            handles_at(BookingRequestCountered, record_countered),
            handles_at(BookingRequestCounterAccepted, record_counter_accepted),
        ]
    ),
)


def _group_key(
    group_by: GroupBy, *, day: ColumnElement[date], provider_id: ColumnElement[Any], listing_id: ColumnElement[Any]
) -> ColumnElement[Any]:
    """What rows are grouped by: left raw (a period's start, an id), and named in Python, so a
    year of day rows is not formatted row by row."""
    if group_by in ("day", "week", "month"):
        return func.date_trunc(group_by, cast(day, DateTime()))
    return listing_id if group_by == "listing" else provider_id


def _group_name(value: Any) -> str:
    if value is None:
        return UNATTRIBUTED
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


def _figures(group: str, steps: dict[str, int], responses: tuple[int, float | None, float | None]) -> FunnelFigures:
    answered, median, p90 = responses
    return FunnelFigures(
        group=group,
        **steps,
        hold_rate=rate(steps["holds"], steps["views"]),
        booking_rate=rate(steps["bookings"], steps["holds"]),
        payment_rate=rate(steps["paid"], steps["bookings"]),
        confirmation_rate=rate(steps["confirmed"], steps["paid"]),
        acceptance_rate=rate(steps["accepted"], steps["requests"]),
        responses=answered,
        response_median_seconds=median,
        response_p90_seconds=p90,
    )


NO_STEPS = dict.fromkeys(FUNNEL_STEPS, 0)
NO_RESPONSES: tuple[int, float | None, float | None] = (0, None, None)
# The row of a grouping set's grand total (`GROUPING(key)` is 1 there).
_TOTAL = object()


async def _report(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    group_by: GroupBy | None,
    provider_id: UUID | None,
    listing_id: UUID | None,
) -> tuple[FunnelFigures, list[FunnelFigures]]:
    """The total and the groups, each from one pass over the day rows and one over the
    period's answers (the total as a grouping set beside the groups)."""
    steps_query = select(*(func.sum(getattr(FunnelDay, name)) for name in FUNNEL_STEPS)).where(
        FunnelDay.day >= start, FunnelDay.day <= end
    )
    seconds = FunnelRequest.response_seconds
    responses_query = select(
        func.count(),
        func.percentile_cont(MEDIAN).within_group(seconds),
        func.percentile_cont(P90).within_group(seconds),
    ).where(
        FunnelRequest.responded_at >= datetime.combine(start, time(), tzinfo=UTC),
        FunnelRequest.responded_at < datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )
    if provider_id is not None:
        steps_query = steps_query.where(FunnelDay.provider_id == provider_id)
        responses_query = responses_query.where(FunnelRequest.provider_id == provider_id)
    if listing_id is not None:
        steps_query = steps_query.where(FunnelDay.listing_id == listing_id)
        responses_query = responses_query.where(FunnelRequest.listing_id == listing_id)
    if group_by is None:
        totals = (await session.execute(steps_query)).one()
        count, median, p90 = (await session.execute(responses_query)).one()
        steps = dict(zip(FUNNEL_STEPS, (int(value or 0) for value in totals), strict=True))
        return _figures(ALL, steps, (int(count), median, p90)), []

    key = _group_key(
        group_by,
        day=FunnelDay.day.expression,
        provider_id=FunnelDay.provider_id.expression,
        listing_id=FunnelDay.listing_id.expression,
    )
    answer_key = _group_key(
        group_by,
        day=cast(func.timezone("UTC", FunnelRequest.responded_at), Date),
        provider_id=FunnelRequest.provider_id.expression,
        listing_id=FunnelRequest.listing_id.expression,
    )
    steps_rows = await session.execute(
        steps_query.add_columns(key, func.grouping(key)).group_by(func.grouping_sets(tuple_(key), tuple_()))
    )
    answer_rows = await session.execute(
        responses_query.add_columns(answer_key, func.grouping(answer_key)).group_by(
            func.grouping_sets(tuple_(answer_key), tuple_())
        )
    )
    steps_by: dict[object, dict[str, int]] = {}
    for *sums, group, is_total in steps_rows.all():
        name = _TOTAL if is_total else _group_name(group)
        steps_by[name] = dict(zip(FUNNEL_STEPS, (int(value or 0) for value in sums), strict=True))
    responses_by: dict[object, tuple[int, float | None, float | None]] = {}
    for count, median, p90, group, is_total in answer_rows.all():
        responses_by[_TOTAL if is_total else _group_name(group)] = (int(count), median, p90)
    total = _figures(ALL, steps_by.pop(_TOTAL, NO_STEPS), responses_by.pop(_TOTAL, NO_RESPONSES))
    names = sorted(str(name) for name in steps_by.keys() | responses_by.keys())
    groups = [_figures(name, steps_by.get(name, NO_STEPS), responses_by.get(name, NO_RESPONSES)) for name in names]
    return total, groups


async def conversion(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    group_by: GroupBy | None = None,
    provider_id: UUID | None = None,
    listing_id: UUID | None = None,
) -> Conversion:
    """The funnel and response times of the UTC days [start, end], for the whole platform or
    one provider or listing: in total, and by `group_by` if given. Admins only."""
    if not viewer.is_admin:
        raise Forbidden("The conversion report is for admins.")

    total, groups = await _report(
        session, start=start, end=end, group_by=group_by, provider_id=provider_id, listing_id=listing_id
    )
    return Conversion(
        start=start,
        end=end,
        group_by=group_by,
        provider_id=provider_id,
        listing_id=listing_id,
        total=total,
        groups=groups,
    )


# The conversion report's columns, in order, as `conversion_rows` yields them (a CSV's header).
CONVERSION_COLUMNS: tuple[str, ...] = tuple(FunnelFigures.model_fields)


async def conversion_rows(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    group_by: GroupBy | None = None,
    provider_id: UUID | None = None,
    listing_id: UUID | None = None,
) -> AsyncIterator[dict[str, str | int | float | None]]:
    """The conversion report as rows of CONVERSION_COLUMNS, for an export: one per group of
    `group_by`, or the one row `all` without it. Rates are decimal strings ("0.2500"), response
    times seconds; a figure that has none (a rate of nothing) is None. Admins only."""
    report = await conversion(
        session, viewer=viewer, start=start, end=end, group_by=group_by, provider_id=provider_id, listing_id=listing_id
    )
    for figures in report.groups if group_by is not None else [report.total]:
        row = figures.model_dump()
        yield {
            column: str(row[column]) if isinstance(row[column], Decimal) else row[column]
            for column in CONVERSION_COLUMNS
        }
