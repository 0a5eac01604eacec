"""Popular listings, read from revenue's day rollups (`revenue_day`: bookings by the UTC day they
were confirmed, money by the day it moved), so a year of them sums days, never bookings.

Ranked by bookings (across currencies, or in one), or by revenue, which is GMV in one currency:
amounts in different currencies do not add up, so ranking by revenue needs `currency`. Ties go
to the listing with more bookings, then to the smaller listing id, so the order is stable.
"""

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.listings.models import ListingDimension
from services.analytics.popular.schemas import ListingRevenue, PopularListing, PopularListings
from services.analytics.revenue.models import RevenueDay
from shared.errors import Forbidden, InvalidInput
from shared.identity import Identity
from shared.money import money

RankBy = Literal["bookings", "revenue"]
# The columns of a row of the report, as the CSV export names them: one row per listing and currency.
POPULAR_COLUMNS = (
    "rank",
    "listing_id",
    "provider_id",
    "title",
    "category",
    "bookings",
    "currency",
    "gmv",
    "refunds",
    "net",
)


async def popular_listings(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    by: RankBy,
    currency: str | None = None,
    provider_id: UUID | None = None,
    limit: int = 20,
) -> PopularListings:
    """The `limit` listings with the most bookings confirmed, or the most GMV in `currency`, in
    the UTC days [start, end] (of one provider's listings, with `provider_id`); for admins only."""
    if not viewer.is_admin:
        raise Forbidden("Popular listings are for admins.")
    if by == "revenue" and currency is None:
        raise InvalidInput(
            "Ranking by revenue needs a `currency`: amounts in different currencies do not add up.",
            details={"by": by},
        )
    in_period = [RevenueDay.day >= start, RevenueDay.day <= end, RevenueDay.listing_id.is_not(None)]
    if currency is not None:
        in_period.append(RevenueDay.currency == currency)
    if provider_id is not None:
        in_period.append(RevenueDay.provider_id == provider_id)
    bookings, gmv = func.sum(RevenueDay.bookings), func.sum(RevenueDay.gmv)
    ranked = select(RevenueDay.listing_id, bookings.label("bookings")).where(*in_period).group_by(RevenueDay.listing_id)
    if by == "revenue":
        ranked = ranked.having(gmv > 0).order_by(gmv.desc(), bookings.desc(), RevenueDay.listing_id)
    else:
        ranked = ranked.having(bookings > 0).order_by(bookings.desc(), RevenueDay.listing_id)
    top = (await session.execute(ranked.limit(limit))).all()
    listing_ids = [row.listing_id for row in top]
    money_rows = (
        await session.execute(
            select(
                RevenueDay.listing_id,
                RevenueDay.currency,
                func.sum(RevenueDay.gmv),
                func.sum(RevenueDay.refunds),
                func.min(cast(RevenueDay.provider_id, String)),
            )
            .where(*in_period, RevenueDay.listing_id.in_(listing_ids))
            .group_by(RevenueDay.listing_id, RevenueDay.currency)
            .order_by(RevenueDay.listing_id, RevenueDay.currency)
        )
    ).all()
    revenue: dict[UUID | None, list[ListingRevenue]] = defaultdict(list)
    providers: dict[UUID | None, UUID] = {}
    for listing_id, in_currency, sold, refunded, provider in money_rows:
        sold, refunded = Decimal(sold), Decimal(refunded)
        revenue[listing_id].append(
            ListingRevenue(
                currency=in_currency,
                gmv=money(sold, in_currency),
                refunds=money(refunded, in_currency),
                net=money(sold - refunded, in_currency),
            )
        )
        providers[listing_id] = UUID(provider)
    listings = {
        listing.listing_id: listing
        for listing in await session.scalars(
            select(ListingDimension).where(ListingDimension.listing_id.in_(listing_ids))
        )
    }
    items = []
    for rank, row in enumerate(top, start=1):
        listing = listings.get(row.listing_id)
        items.append(
            PopularListing(
                rank=rank,
                listing_id=row.listing_id,
                provider_id=listing.provider_id if listing else providers[row.listing_id],
                title=listing.title if listing else None,
                category=listing.category if listing else None,
                bookings=int(row.bookings),
                revenue=revenue.get(row.listing_id, []),
            )
        )
    return PopularListings(start=start, end=end, by=by, currency=currency, items=items)


async def popular_rows(
    session: AsyncSession,
    *,
    viewer: Identity,
    start: date,
    end: date,
    by: RankBy,
    currency: str | None = None,
    provider_id: UUID | None = None,
    limit: int = 100,
) -> AsyncIterator[dict[str, object]]:
    """The ranking as rows of POPULAR_COLUMNS, one per listing and currency (a listing with no
    money in the period has one row, its currency and amounts empty), for a CSV export."""
    ranking = await popular_listings(
        session, viewer=viewer, start=start, end=end, by=by, currency=currency, provider_id=provider_id, limit=limit
    )
    for item in ranking.items:
        listing = {
            "rank": item.rank,
            "listing_id": item.listing_id,
            "provider_id": item.provider_id,
            "title": item.title,
            "category": item.category,
            "bookings": item.bookings,
        }
        if not item.revenue:
            yield listing | dict.fromkeys(("currency", "gmv", "refunds", "net"))
        for amounts in item.revenue:
            yield listing | {
                "currency": amounts.currency,
                "gmv": amounts.gmv,
                "refunds": amounts.refunds,
                "net": amounts.net,
            }
