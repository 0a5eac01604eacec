"""Revenue from the event stream: GMV, platform fees, refunds, net, credits and payouts, grouped
as asked; each currency summed apart and shown with its own digits (JPY none, EUR two, KWD three).

Money comes from payment's ledger (`payment.ledger_transaction_recorded`, read in domain.py) and
counts on the UTC day it moved: the transaction's `occurred_at`, not the booking's confirmation.
Bookings count on the day they were confirmed. Who and what a movement counts to comes from
booking's events (booking.confirmed, booking.modified), which are read apart from payment's:
a movement that arrives before its booking's confirmation is kept, counted to the provider its
account names, and moved to the booking's listing and category when the confirmation comes.

Every handler applies its event once (the inbox, and each movement's row keyed by its
transaction), and holds the booking's advisory lock, so a movement and its booking's
confirmation handled at the same time cannot miss each other. The day rollups are kept up to
date by the handlers: a report sums days, never bookings. Two are kept: `revenue_day` per
listing (popular listings and forecasts read it) and `revenue_provider_day`, the same summed over
a provider's listings of a category, which the revenue report reads whatever its grouping."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Date, DateTime, Select, String, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.analytics.revenue.domain import (
    AMOUNT_FIELDS,
    Amounts,
    Attribution,
    BookingFacts,
    attribute,
    classify,
)
from services.analytics.revenue.models import BookingFact, MoneyMovement, RevenueDay, RevenueProviderDay
from services.analytics.revenue.schemas import Revenue, RevenueGroup
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified
from shared.contracts.payment import LedgerTransactionRecorded
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for
from shared.identity import Identity
from shared.money import money

GroupBy = Literal["day", "week", "month", "category", "provider", "currency"]
# A group whose provider or category is not known: money of a booking never confirmed (yet).
UNATTRIBUTED = "unattributed"
NOTHING = Amounts()
# Rows a report's cursor fetches at a time.
ROWS_PER_FETCH = 500


async def _lock_booking(session: AsyncSession, booking_id: UUID) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(booking_id), 0))))


async def _add_to_day(
    session: AsyncSession,
    *,
    day: date,
    where: Attribution,
    currency: str,
    amounts: Amounts = NOTHING,
    bookings: int = 0,
    per_provider: bool = True,
) -> None:
    """Add to the day of `where`'s listing and, unless `per_provider` is false (a move that
    leaves the provider and category as they were), to its provider's and category's."""
    sums = amounts.as_dict()
    rollups: list[tuple[type[RevenueDay] | type[RevenueProviderDay], dict[str, Any]]] = [
        (RevenueDay, {"listing_id": where.listing_id})
    ]
    if per_provider:
        rollups.append((RevenueProviderDay, {}))
    for table, own_key in rollups:
        key = {
            "day": day,
            "provider_id": where.provider_id,
            **own_key,
            "category": where.category,
            "currency": currency,
        }
        statement = insert(table).values(**key, bookings=bookings, **sums)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={
                    name: getattr(table, name) + getattr(statement.excluded, name)
                    for name in ("bookings", *AMOUNT_FIELDS)
                },
            )
        )


async def _move_on_day(
    session: AsyncSession,
    *,
    day: date,
    old: Attribution,
    new: Attribution,
    currency: str,
    amounts: Amounts = NOTHING,
    bookings: int = 0,
) -> None:
    """Count on `new` what counted on `old`; the provider's rollup only if its key changes."""
    per_provider = (old.provider_id, old.category) != (new.provider_id, new.category)
    await _add_to_day(
        session, day=day, where=old, currency=currency, amounts=-amounts, bookings=-bookings, per_provider=per_provider
    )
    await _add_to_day(
        session, day=day, where=new, currency=currency, amounts=amounts, bookings=bookings, per_provider=per_provider
    )


def _facts(row: BookingFact | None) -> BookingFacts | None:
    return None if row is None else BookingFacts(row.provider_id, row.listing_id, row.category)


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


async def _move_booking(
    session: AsyncSession, *, booking_id: UUID, before: BookingFacts | None, after: BookingFacts
) -> None:
    """Count the booking's movements so far where `after` says, no longer where `before` did."""
    movements = (
        await session.scalars(
            select(MoneyMovement).where(MoneyMovement.booking_id == booking_id).order_by(MoneyMovement.id)
        )
    ).all()
    for movement in movements:
        old, new = attribute(movement.provider_id, before), attribute(movement.provider_id, after)
        if old == new:
            continue
        amounts = Amounts(**{name: getattr(movement, name) for name in AMOUNT_FIELDS})
        await _move_on_day(
            session, day=_utc_day(movement.occurred_at), old=old, new=new, currency=movement.currency, amounts=amounts
        )


async def record_confirmed_booking(session: AsyncSession, booking: BookingConfirmed) -> None:
    await _lock_booking(session, booking.booking_id)
    inserted = await session.scalar(
        insert(BookingFact)
        .values(
            booking_id=booking.booking_id,
            provider_id=booking.provider_id,
            listing_id=booking.listing_id,
            category=booking.category,
            currency=booking.currency,
            confirmed_at=booking.confirmed_at,
            status="confirmed",
        )
        .on_conflict_do_nothing()
        .returning(BookingFact.booking_id)
    )
    if inserted is None:
        return
    facts = BookingFacts(booking.provider_id, booking.listing_id, booking.category)
    await _add_to_day(
        session,
        day=_utc_day(booking.confirmed_at),
        where=attribute(None, facts),
        currency=booking.currency,
        bookings=1,
    )
    await _move_booking(session, booking_id=booking.booking_id, before=None, after=facts)


async def record_modified_booking(session: AsyncSession, change: BookingModified) -> None:
    """A change may move the booking to another listing (of the same provider): its booking and
    its money count there from now on, on the days they happened."""
    await _lock_booking(session, change.booking_id)
    row = await session.get(BookingFact, change.booking_id)
    if row is None or row.listing_id == change.listing_id:
        return
    before = _facts(row)
    assert before is not None
    after = BookingFacts(row.provider_id, change.listing_id, row.category)
    await _move_on_day(
        session,
        day=_utc_day(row.confirmed_at),
        old=attribute(None, before),
        new=attribute(None, after),
        currency=row.currency,
        bookings=1,
    )
    await _move_booking(session, booking_id=change.booking_id, before=before, after=after)
    row.listing_id = change.listing_id


async def record_cancelled_booking(session: AsyncSession, cancellation: BookingCancelled) -> None:
    """Its money (refunds, credit) comes from the ledger: the facts only learn the status."""
    await session.execute(
        update(BookingFact)
        .where(BookingFact.booking_id == cancellation.booking_id)
        .values(status="cancelled", cancelled_at=cancellation.cancelled_at)
    )


async def record_ledger_transaction(session: AsyncSession, transaction: LedgerTransactionRecorded) -> None:
    await _lock_booking(session, transaction.booking_id)
    facts = _facts(await session.get(BookingFact, transaction.booking_id))
    for movement in classify(transaction.kind, [(entry.account, entry.amount) for entry in transaction.entries]):
        inserted = await session.scalar(
            insert(MoneyMovement)
            .values(
                transaction_id=transaction.transaction_id,
                kind=transaction.kind,
                booking_id=transaction.booking_id,
                provider_id=movement.provider_id,
                currency=transaction.currency,
                occurred_at=transaction.occurred_at,
                **movement.amounts.as_dict(),
            )
            .on_conflict_do_nothing()
            .returning(MoneyMovement.id)
        )
        if inserted is not None:
            await _add_to_day(
                session,
                day=_utc_day(transaction.occurred_at),
                where=attribute(movement.provider_id, facts),
                currency=transaction.currency,
                amounts=movement.amounts,
            )


REVENUE_EVENTS = ConsumerSpec(
    name="analytics.revenue",
    topics=(topic_for("booking"), topic_for("payment")),
    handlers=dict(
        [
            handles(BookingConfirmed, record_confirmed_booking),
            handles(BookingModified, record_modified_booking),
            handles(BookingCancelled, record_cancelled_booking),
            handles(LedgerTransactionRecorded, record_ledger_transaction),
        ]
    ),
)


def _revenue_query(*, viewer: Identity, start: date, end: date, group_by: GroupBy) -> Select[tuple[Any, ...]]:
    """From the provider's rollup: every grouping's key is one of its columns or of its day."""
    key: ColumnElement[str]
    if group_by in ("day", "week", "month"):
        key = func.to_char(
            cast(func.date_trunc(group_by, cast(RevenueProviderDay.day, DateTime())), Date), "YYYY-MM-DD"
        )
    elif group_by == "category":
        key = func.coalesce(RevenueProviderDay.category, UNATTRIBUTED)
    elif group_by == "provider":
        key = func.coalesce(cast(RevenueProviderDay.provider_id, String), UNATTRIBUTED)
    else:
        key = RevenueProviderDay.currency.expression
    query = (
        select(
            key.label("group"),
            RevenueProviderDay.currency,
            func.sum(RevenueProviderDay.bookings),
            *(func.sum(getattr(RevenueProviderDay, name)) for name in AMOUNT_FIELDS),
        )
        .where(RevenueProviderDay.day >= start, RevenueProviderDay.day <= end)
        .group_by(key, RevenueProviderDay.currency)
        .order_by(key, RevenueProviderDay.currency)
    )
    if not viewer.is_admin:
        query = query.where(RevenueProviderDay.provider_id == viewer.user_id)
    return query


async def revenue_rows(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, group_by: GroupBy
) -> AsyncIterator[RevenueGroup]:
    """The groups of the revenue report, one at a time from a server-side cursor (`yield_per`):
    what the JSON report lists and the CSV export streams, from the one query."""
    query = _revenue_query(viewer=viewer, start=start, end=end, group_by=group_by)
    result = await session.stream(query.execution_options(yield_per=ROWS_PER_FETCH))
    async for group, currency, bookings, *sums in result:
        amounts = Amounts(
            **{name: money(Decimal(value), currency) for name, value in zip(AMOUNT_FIELDS, sums, strict=True)}
        )
        if not bookings and amounts.is_zero:
            continue
        yield RevenueGroup(
            group=str(group),
            currency=currency,
            bookings=bookings,
            gmv=amounts.gmv,
            platform_fees=amounts.platform_fees,
            refunds=amounts.refunds,
            net=money(amounts.gmv - amounts.refunds, currency),
            payouts=amounts.payouts,
            credits_spent=amounts.credits_spent,
            credits=amounts.credits if viewer.is_admin else None,
            expert_fees=amounts.expert_fees if viewer.is_admin else None,
            expert_payouts=amounts.expert_payouts if viewer.is_admin else None,
        )


async def revenue(session: AsyncSession, *, viewer: Identity, start: date, end: date, group_by: GroupBy) -> Revenue:
    """Revenue of the UTC days [start, end]; a provider sees their own only, without the
    platform's own lines (credits it gave, experts' fees and payouts)."""
    groups = [group async for group in revenue_rows(session, viewer=viewer, start=start, end=end, group_by=group_by)]
    return Revenue(start=start, end=end, group_by=group_by, groups=groups)
