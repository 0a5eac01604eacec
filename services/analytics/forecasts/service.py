"""A listing's demand forecast, from the confirmed bookings analytics has counted: bookings a
day by the day they were confirmed, from the listing's first booking (at most a year back) to
yesterday, every day without one counted as 0."""

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.forecasts.domain import forecast_demand
from services.analytics.forecasts.schemas import ForecastDay, ListingForecast
from services.analytics.revenue.models import BookingFact
from shared.errors import NotFound
from shared.identity import Identity

HISTORY_LIMIT = timedelta(days=365)


async def listing_forecast(
    session: AsyncSession, *, viewer: Identity, listing_id: UUID, days: int, now: datetime
) -> ListingForecast:
    """`days` days from today (UTC); a provider sees only a listing of theirs (one they have bookings of)."""
    today = now.astimezone(UTC).date()
    if not viewer.is_admin:
        owns = await session.scalar(
            select(BookingFact.booking_id)
            .where(BookingFact.listing_id == listing_id, BookingFact.provider_id == viewer.user_id)
            .limit(1)
        )
        if owns is None:
            raise NotFound("No such listing of yours.", details={"listing_id": str(listing_id)})
    counts = await _bookings_a_day(session, listing_id=listing_id, since=today - HISTORY_LIMIT, until=today)
    first_day = min(counts, default=today)
    history = [float(counts.get(first_day + timedelta(days=day), 0)) for day in range((today - first_day).days)]
    # Fitting is CPU work: off the event loop.
    forecast = await asyncio.to_thread(forecast_demand, history, first_day=first_day, horizon=days)
    return ListingForecast(
        listing_id=listing_id,
        model=forecast.model,
        history_days=forecast.history_days,
        level=forecast.level,
        days=[
            ForecastDay(
                date=day.day, expected=round(day.expected, 2), lower=round(day.lower, 2), upper=round(day.upper, 2)
            )
            for day in forecast.days
        ],
    )


async def _bookings_a_day(session: AsyncSession, *, listing_id: UUID, since: date, until: date) -> dict[date, int]:
    """Confirmed bookings of the listing per UTC day in [since, until)."""
    day = cast(func.timezone("UTC", BookingFact.confirmed_at), Date)
    rows = await session.execute(
        select(day, func.count())
        .where(
            BookingFact.listing_id == listing_id,
            BookingFact.confirmed_at >= datetime.combine(since, time.min, tzinfo=UTC),
            BookingFact.confirmed_at < datetime.combine(until, time.min, tzinfo=UTC),
        )
        .group_by(day)
    )
    return dict(rows.all())
