"""GET /analytics/forecast/{listing_id}: the listing's owner and admins get the forecast of its
demand from the bookings analytics counted, naming the model and the history; anyone else
gets 404, and a horizon out of range 422 with the problem body."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.forecasts.domain import ForecastModel
from services.analytics.main import build_app
from services.analytics.revenue.service import record_confirmed_booking
from services.analytics.settings import AnalyticsSettings
from shared.clock import FrozenClock
from shared.contracts.booking import BookingConfirmed
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import identity_headers, make_identity, trust_test_keys

NOW = datetime(2031, 6, 1, 10, 0, tzinfo=UTC)


@dataclass
class AnalyticsApp:
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience="analytics")

    async def confirmed(self, *, listing_id: uuid.UUID, provider_id: uuid.UUID, at: datetime) -> None:
        booking = BookingConfirmed(
            booking_id=uuid.uuid4(),
            reference="TRV-2031-FORECAST",
            traveler_id=uuid.uuid4(),
            provider_id=provider_id,
            listing_id=listing_id,
            listing_title="Harbour walk",
            category="tour",
            slot_id=uuid.uuid4(),
            starts_at=at + timedelta(days=10),
            ends_at=at + timedelta(days=10, hours=2),
            timezone="Europe/Lisbon",
            seats=2,
            total=Decimal("40.00"),
            platform_fee=Decimal("6.00"),
            currency="EUR",
            contact_name="Ana",
            contact_email="ana@example.com",
            confirmed_at=at,
        )
        async with self.sessions.begin() as session:
            await record_confirmed_booking(session, booking)


@pytest.fixture
async def analytics(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[AnalyticsApp]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    settings = AnalyticsSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        consumers_enabled=False,
    )
    app = build_app(settings, clock=FrozenClock(NOW))
    trust_test_keys(app, settings)
    engine = create_engine(database_url=database_url, schema="analytics")
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://analytics") as client,
        ):
            yield AnalyticsApp(client=client, sessions=create_session_factory(engine))
    finally:
        await engine.dispose()


async def test_the_owner_gets_a_modelled_forecast_from_ten_weeks_of_bookings(analytics: AnalyticsApp) -> None:
    provider, listing_id = make_identity("provider"), uuid.uuid4()
    for days_ago in range(1, 71):
        day = NOW - timedelta(days=days_ago)
        # Busy weekends: five bookings on Saturdays and Sundays, one on other days.
        for _ in range(5 if day.weekday() >= 5 else 1):
            await analytics.confirmed(listing_id=listing_id, provider_id=provider.user_id, at=day)

    answer = await analytics.client.get(f"/analytics/forecast/{listing_id}?days=7", headers=analytics.as_(provider))
    assert answer.status_code == 200, answer.text
    forecast = answer.json()
    assert (forecast["model"], forecast["history_days"], forecast["level"]) == (ForecastModel.ETS, 70, 0.8)
    assert [day["date"] for day in forecast["days"]] == [str(NOW.date() + timedelta(days=ahead)) for ahead in range(7)]
    by_weekday = {datetime.fromisoformat(day["date"]).weekday(): day for day in forecast["days"]}
    assert by_weekday[5]["expected"] == pytest.approx(5, abs=0.5)
    assert by_weekday[2]["expected"] == pytest.approx(1, abs=0.5)
    assert all(day["lower"] <= day["expected"] <= day["upper"] for day in forecast["days"])


async def test_a_new_listing_gets_the_seasonal_naive_forecast_and_an_admin_sees_it(analytics: AnalyticsApp) -> None:
    provider, listing_id = make_identity("provider"), uuid.uuid4()
    await analytics.confirmed(listing_id=listing_id, provider_id=provider.user_id, at=NOW - timedelta(days=3))
    await analytics.confirmed(listing_id=listing_id, provider_id=provider.user_id, at=NOW)

    admin = analytics.as_(make_identity("admin"))
    answer = await analytics.client.get(f"/analytics/forecast/{listing_id}", headers=admin)
    assert answer.status_code == 200, answer.text
    forecast = answer.json()
    assert (forecast["model"], forecast["history_days"], len(forecast["days"])) == (ForecastModel.SEASONAL_NAIVE, 3, 14)


@pytest.mark.parametrize("who", ["another provider", "a traveler"])
async def test_nobody_but_the_owner_and_admins_sees_a_listings_forecast(analytics: AnalyticsApp, who: str) -> None:
    listing_id = uuid.uuid4()
    await analytics.confirmed(listing_id=listing_id, provider_id=uuid.uuid4(), at=NOW - timedelta(days=1))
    viewer = make_identity("provider" if who == "another provider" else "traveler")
    answer = await analytics.client.get(f"/analytics/forecast/{listing_id}", headers=analytics.as_(viewer))
    assert (answer.status_code, answer.json()["error_code"]) == (
        (404, "NOT_FOUND") if who == "another provider" else (403, "FORBIDDEN")
    )


@pytest.mark.parametrize("days", ["0", "91", "soon"])
async def test_a_horizon_out_of_range_is_refused_with_the_problem_body(analytics: AnalyticsApp, days: str) -> None:
    answer = await analytics.client.get(
        f"/analytics/forecast/{uuid.uuid4()}?days={days}", headers=analytics.as_(make_identity("admin"))
    )
    assert (answer.status_code, answer.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert answer.headers["content-type"].startswith("application/problem+json")
