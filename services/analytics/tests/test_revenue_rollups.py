"""The provider's day rollup (`revenue_provider_day`) is the listings' (`revenue_day`) summed
over listings, key for key, whatever moved money between listings, categories or the unknown:
the revenue report reads the one, popular listings and forecasts the other."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from services.analytics.revenue.domain import AMOUNT_FIELDS, BookingFacts
from services.analytics.revenue.models import RevenueDay, RevenueProviderDay
from services.analytics.revenue.service import _move_booking
from services.analytics.tests.conftest import RevenueEvents, capture, confirmed, modified, new_booking, refund
from shared.testing import make_identity

MORNING = datetime(2031, 9, 8, 9, 0, tzinfo=UTC)
SUMS = ("bookings", *AMOUNT_FIELDS)

Key = tuple[object, ...]


async def _both_rollups(revenue_events: RevenueEvents, provider_id: uuid.UUID) -> tuple[dict[Key, Key], dict[Key, Key]]:
    """The provider's listings' rows summed per (day, provider, category, currency), and the
    provider's rollup's rows, each as sums per key."""
    async with revenue_events.sessions() as session:
        listing_rows = (await session.scalars(select(RevenueDay).where(RevenueDay.provider_id == provider_id))).all()
        provider_rows = (
            await session.scalars(select(RevenueProviderDay).where(RevenueProviderDay.provider_id == provider_id))
        ).all()
    summed: dict[Key, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(SUMS))
    for row in listing_rows:
        sums = summed[(row.day, row.provider_id, row.category, row.currency)]
        for index, name in enumerate(SUMS):
            sums[index] += getattr(row, name)
    return (
        {key: tuple(sums) for key, sums in summed.items()},
        {
            (row.day, row.provider_id, row.category, row.currency): tuple(Decimal(getattr(row, name)) for name in SUMS)
            for row in provider_rows
        },
    )


async def test_the_provider_rollup_equals_the_listings_summed_after_moves_across_listings_and_categories(
    revenue_events: RevenueEvents,
) -> None:
    provider = make_identity("provider")
    booking = new_booking(provider.user_id, category="tour")
    same_category_listing, other_category_listing = uuid.uuid4(), uuid.uuid4()
    next_day = MORNING + timedelta(days=1)
    # Money before the booking is known (no listing, no category), then its confirmation moves
    # it to the booking's listing and category, then a change to another listing of the same one.
    await revenue_events.consume(
        capture(booking, "80.00", "12.00", at=MORNING),
        refund(booking, "10.00", "1.50", at=MORNING),
        confirmed(booking, at=MORNING, total="80.00"),
        modified(booking, listing_id=same_category_listing, at=next_day, total="95.00", difference="15.00"),
        capture(booking, "15.00", "2.25", at=next_day),
    )
    listings_summed, per_provider = await _both_rollups(revenue_events, provider.user_id)
    assert per_provider == listings_summed

    # The booking's money moved to a listing of another category.
    async with revenue_events.sessions.begin() as session:
        await _move_booking(
            session,
            booking_id=booking.booking_id,
            before=BookingFacts(provider.user_id, same_category_listing, "tour"),
            after=BookingFacts(provider.user_id, other_category_listing, "activity"),
        )

    listings_summed, per_provider = await _both_rollups(revenue_events, provider.user_id)
    assert per_provider == listings_summed
    gmv = SUMS.index("gmv")
    by_category = {(key[0], key[2]): sums[gmv] for key, sums in per_provider.items()}
    assert by_category == {
        (MORNING.date(), None): Decimal(0),
        (MORNING.date(), "tour"): Decimal(0),
        (MORNING.date(), "activity"): Decimal("80.00"),
        (next_day.date(), "tour"): Decimal(0),
        (next_day.date(), "activity"): Decimal("15.00"),
    }
