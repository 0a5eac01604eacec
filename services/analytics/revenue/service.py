"""Revenue from the event stream: GMV, platform fees, refunds and net, grouped as asked; each
currency summed apart and shown with its own digits (JPY none, EUR two, KWD three)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import String, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.analytics.revenue.models import BookingRevenue, RefundReceived
from services.analytics.revenue.schemas import Revenue, RevenueGroup
from shared.contracts.booking import BookingConfirmed
from shared.contracts.payment import PaymentRefunded
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for
from shared.identity import Identity
from shared.money import money

GroupBy = Literal["day", "week", "month", "category", "provider"]


async def record_confirmed_booking(session: AsyncSession, booking: BookingConfirmed) -> None:
    await session.execute(
        insert(BookingRevenue)
        .values(
            booking_id=booking.booking_id,
            provider_id=booking.provider_id,
            listing_id=booking.listing_id,
            category=booking.category,
            currency=booking.currency,
            gmv=booking.total,
            platform_fee=booking.platform_fee,
            confirmed_at=booking.confirmed_at,
        )
        .on_conflict_do_nothing()
    )


async def record_refund(session: AsyncSession, refund: PaymentRefunded) -> None:
    """The inbox applies each event once, so each refund is one row, whether or not the
    booking's confirmation has arrived yet."""
    session.add(RefundReceived(booking_id=refund.booking_id, amount=refund.amount, currency=refund.currency))


REVENUE_EVENTS = ConsumerSpec(
    name="analytics.revenue",
    topics=(topic_for("booking"), topic_for("payment")),
    handlers=dict([handles(BookingConfirmed, record_confirmed_booking), handles(PaymentRefunded, record_refund)]),
)


async def revenue(session: AsyncSession, *, viewer: Identity, start: date, end: date, group_by: GroupBy) -> Revenue:
    """Revenue of bookings confirmed in [start, end] (UTC dates); a provider sees their own only."""
    key: ColumnElement[str]
    if group_by in ("day", "week", "month"):
        key = func.to_char(func.date_trunc(group_by, BookingRevenue.confirmed_at), "YYYY-MM-DD")
    elif group_by == "category":
        key = BookingRevenue.category.expression
    else:
        key = cast(BookingRevenue.provider_id, String)
    refunded = (
        select(RefundReceived.booking_id, func.sum(RefundReceived.amount).label("amount"))
        .group_by(RefundReceived.booking_id)
        .subquery()
    )
    query = (
        select(
            key.label("group"),
            BookingRevenue.currency,
            func.count(),
            func.sum(BookingRevenue.gmv),
            func.sum(BookingRevenue.platform_fee),
            func.coalesce(func.sum(refunded.c.amount), Decimal(0)),
        )
        .outerjoin(refunded, refunded.c.booking_id == BookingRevenue.booking_id)
        .where(
            BookingRevenue.confirmed_at >= datetime.combine(start, time.min, tzinfo=UTC),
            BookingRevenue.confirmed_at < datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
        )
        .group_by(key, BookingRevenue.currency)
        .order_by(key, BookingRevenue.currency)
    )
    if not viewer.is_admin:
        query = query.where(BookingRevenue.provider_id == viewer.user_id)
    groups = [
        RevenueGroup(
            group=str(group),
            currency=currency,
            bookings=count,
            gmv=money(gmv, currency),
            platform_fees=money(fees, currency),
            refunds=money(refunds, currency),
            net=money(gmv - refunds, currency),
        )
        for group, currency, count, gmv, fees, refunds in (await session.execute(query)).all()
    ]
    return Revenue(start=start, end=end, group_by=group_by, groups=groups)
