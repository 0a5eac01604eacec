"""GET /analytics/export: an admin gets a report as a CSV file whose header is the JSON report's
field names and whose rows are its numbers, read off a server-side cursor while the body
streams, on a database session that stays open until the last chunk is sent and is given back
then (or when the client goes away); nobody else gets it, and an unknown report, format or
option is a 422 with the problem body."""

import asyncio
import csv
import io
import random
import uuid
from collections.abc import AsyncIterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.exports.service import REPORTS
from services.analytics.funnel.models import FunnelDay
from services.analytics.funnel.service import conversion_rows
from services.analytics.main import build_app
from services.analytics.occupancy.service import occupancy_rows
from services.analytics.outcomes.models import OutcomeDay
from services.analytics.outcomes.service import cancellation_rows
from services.analytics.popular.service import popular_rows
from services.analytics.revenue.models import RevenueDay, RevenueProviderDay
from services.analytics.revenue.schemas import RevenueGroup
from services.analytics.revenue.service import revenue_rows
from services.analytics.settings import AnalyticsSettings
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import identity_headers, make_identity, trust_test_keys

ADMIN = make_identity("admin")
PROVIDERS = 1200
COLUMNS = list(RevenueGroup.model_fields)


@dataclass
class ExportingApp:
    app: FastAPI
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience="analytics")


@pytest.fixture
async def analytics(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[ExportingApp]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    settings = AnalyticsSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        consumers_enabled=False,
    )
    app = build_app(settings)
    trust_test_keys(app, settings)
    engine = create_engine(database_url=database_url, schema="analytics")
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://analytics") as client,
        ):
            yield ExportingApp(app=app, client=client, sessions=create_session_factory(engine))
    finally:
        await engine.dispose()


async def _a_month_of_revenue(sessions: async_sessionmaker[AsyncSession]) -> tuple[date, date]:
    """A month of a far year nobody else uses: PROVIDERS providers' listings over its days, in
    EUR, JPY and KWD."""
    first = date(random.randint(2200, 2900), random.randint(1, 12), 1)
    currencies = {"EUR": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.001")}
    rows = []
    for index in range(PROVIDERS):
        currency, step = list(currencies.items())[index % 3]
        gmv = Decimal(random.randint(100, 99_999)) * step
        rows.append(
            {
                "day": first + timedelta(days=index % 28),
                "provider_id": uuid.uuid4(),
                "listing_id": uuid.uuid4(),
                "category": ("tour", "activity", "transfer")[index % 3],
                "currency": currency,
                "bookings": index % 4,
                "gmv": gmv,
                "platform_fees": (gmv * Decimal("0.15")).quantize(step),
                "refunds": gmv / 10 if index % 5 == 0 else Decimal(0),
            }
        )
    async with sessions.begin() as session:
        await session.execute(insert(RevenueDay), rows)
        # Each listing its provider's only one: the provider's rollup holds the same sums.
        await session.execute(
            insert(RevenueProviderDay),
            [{name: value for name, value in row.items() if name != "listing_id"} for row in rows],
        )
    return first, first + timedelta(days=27)


def _csv_rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


def _as_csv_cells(group: dict[str, Any]) -> list[str]:
    return ["" if group[column] is None else str(group[column]) for column in COLUMNS]


@pytest.mark.parametrize("group_by", ["day", "provider", "category"])
async def test_an_admin_gets_revenue_as_csv_with_the_json_reports_columns_and_numbers(
    analytics: ExportingApp, group_by: str
) -> None:
    start, end = await _a_month_of_revenue(analytics.sessions)
    period = {"from": str(start), "to": str(end), "group_by": group_by}
    admin = analytics.as_(ADMIN)

    exported = await analytics.client.get("/analytics/export", params={**period, "report": "revenue"}, headers=admin)
    report = await analytics.client.get("/analytics/revenue", params=period, headers=admin)

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == f'attachment; filename="revenue_{start}_{end}.csv"'
    header, *rows = _csv_rows(exported.text)
    assert header == COLUMNS
    groups = report.json()["groups"]
    assert len(groups) == {"day": 28 * 3, "provider": PROVIDERS, "category": 3}[group_by]
    assert rows == [_as_csv_cells(group) for group in groups]


async def _a_month_of_funnels_and_outcomes(sessions: async_sessionmaker[AsyncSession], first: date) -> None:
    """Funnel days and booking outcomes of 40 listings over the month from `first`."""
    listings = [(uuid.uuid4(), uuid.uuid4()) for _ in range(40)]
    funnels, outcomes = [], []
    for index, (provider_id, listing_id) in enumerate(listings):
        day = first + timedelta(days=index % 28)
        views = random.randint(20, 400)
        holds = views // random.randint(4, 10)
        bookings = holds // 2
        funnels.append(
            {
                "day": day,
                "provider_id": provider_id,
                "listing_id": listing_id,
                "views": views,
                "holds": holds,
                "bookings": bookings,
                "paid": bookings,
                "confirmed": bookings,
                "requests": index % 3,
                "accepted": index % 2,
            }
        )
        outcomes.append(
            {
                "service_date": day,
                "provider_id": provider_id,
                "listing_id": listing_id,
                "completed": random.randint(0, 9),
                "no_shows": index % 2,
                "cancelled_by_traveler": index % 3,
                "cancelled_by_provider": index % 4 == 0,
            }
        )
    async with sessions.begin() as session:
        await session.execute(insert(FunnelDay), funnels)
        await session.execute(insert(OutcomeDay), outcomes)


def _as_cells(row: Mapping[str, object]) -> list[str]:
    return ["" if value is None else str(value) for value in row.values()]


@pytest.mark.parametrize(
    ("report", "options", "rows_of"),
    [
        ("conversion", {"group_by": "listing"}, partial(conversion_rows, group_by="listing")),
        ("conversion", {}, conversion_rows),
        (
            "popular",
            {"by": "revenue", "currency": "EUR"},
            partial(popular_rows, by="revenue", currency="EUR"),
        ),
        ("popular", {"limit": "7"}, partial(popular_rows, by="bookings", limit=7)),
        ("cancellations", {"group_by": "provider"}, partial(cancellation_rows, group_by="provider")),
        ("occupancy", {"group_by": "slot"}, partial(occupancy_rows, group_by="slot")),
    ],
)
async def test_every_other_report_exports_its_rows_with_its_options(
    analytics: ExportingApp, report: str, options: dict[str, str], rows_of: Any
) -> None:
    start, end = await _a_month_of_revenue(analytics.sessions)
    await _a_month_of_funnels_and_outcomes(analytics.sessions, start)
    period = {"from": str(start), "to": str(end)}

    exported = await analytics.client.get(
        "/analytics/export", params={**period, **options, "report": report}, headers=analytics.as_(ADMIN)
    )

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == f'attachment; filename="{report}_{start}_{end}.csv"'
    async with analytics.sessions() as session:
        expected = [row async for row in rows_of(session, viewer=ADMIN, start=start, end=end)]
    header, *rows = _csv_rows(exported.text)
    assert header == list(REPORTS.find(report).columns)
    assert all(list(row) == header for row in expected)
    assert rows == [_as_cells(row) for row in expected]
    if report != "occupancy":  # occupancy has no rows made here: slots come from inventory's sales
        assert rows


async def test_ranking_by_revenue_without_a_currency_is_refused_before_anything_is_sent(
    analytics: ExportingApp,
) -> None:
    answer = await analytics.client.get(
        "/analytics/export",
        params={"report": "popular", "by": "revenue", "from": "2031-01-01", "to": "2031-12-31"},
        headers=analytics.as_(ADMIN),
    )
    assert (answer.status_code, answer.json()["error_code"]) == (422, "VALIDATION_ERROR")


async def test_a_period_without_revenue_is_the_header_alone(analytics: ExportingApp) -> None:
    exported = await analytics.client.get(
        "/analytics/export",
        params={"report": "revenue", "format": "csv", "from": "1901-01-01", "to": "1901-12-31"},
        headers=analytics.as_(ADMIN),
    )
    assert (exported.status_code, exported.text) == (200, ",".join(COLUMNS) + "\r\n")


async def test_revenues_rows_come_off_a_server_side_cursor_as_they_are_read(analytics: ExportingApp) -> None:
    start, end = await _a_month_of_revenue(analytics.sessions)
    async with analytics.sessions() as session:
        rows = revenue_rows(session, viewer=ADMIN, start=start, end=end, group_by="provider")
        await anext(rows)
        # Rows gathered into a list first would leave no cursor open to read the rest from.
        open_cursors = (await session.scalars(text("SELECT statement FROM pg_cursors"))).all()
        rest = [row async for row in rows]
    assert [statement for statement in open_cursors if "FROM revenue_provider_day" in statement] != []
    assert len(rest) == PROVIDERS - 1


async def _open_report_transactions(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Backends of this database (other than the asker's) inside a transaction whose last
    statement read the revenue rollup: an export reading its rows."""
    async with sessions() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
                " AND query LIKE '%FROM revenue_provider_day%'"
            )
        )
    return int(found or 0)


class StreamWatcher:
    """An ASGI server's side of one request: the body's chunks as the app sends them, and how
    many exports were reading their rows (in a transaction) as each arrived."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, leave_after_chunks: int | None = None) -> None:
        self.sessions = sessions
        self.leave_after_chunks = leave_after_chunks
        self.chunks: list[bytes] = []
        self.reading: list[int] = []
        self.gone = asyncio.Event()
        self._requested = False

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] != "http.response.body" or not message.get("body"):
            return
        self.chunks.append(message["body"])
        self.reading.append(await _open_report_transactions(self.sessions))
        if self.leave_after_chunks is not None and len(self.chunks) >= self.leave_after_chunks:
            self.gone.set()
            await asyncio.sleep(0.05)


async def _stream(analytics: ExportingApp, watcher: StreamWatcher, query: str) -> None:
    headers = [(name.lower().encode(), value.encode()) for name, value in analytics.as_(ADMIN).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/analytics/export",
        "raw_path": b"/analytics/export",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"analytics"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await analytics.app(scope, watcher.receive, watcher.send)


async def test_the_session_stays_open_while_the_body_streams_and_is_given_back_after(
    analytics: ExportingApp,
) -> None:
    start, end = await _a_month_of_revenue(analytics.sessions)
    watcher = StreamWatcher(analytics.sessions)

    await _stream(analytics, watcher, f"report=revenue&from={start}&to={end}&group_by=provider")

    # The header (no row read yet), then the rows in chunks of 500, read in one transaction
    # held until the last is sent, and ended then.
    assert watcher.reading == [0, 1, 1, 1]
    assert await _open_report_transactions(analytics.sessions) == 0
    assert len(_csv_rows(b"".join(watcher.chunks).decode())) == 1 + PROVIDERS


async def test_a_client_that_leaves_mid_stream_ends_the_exports_transaction(analytics: ExportingApp) -> None:
    start, end = await _a_month_of_revenue(analytics.sessions)
    watcher = StreamWatcher(analytics.sessions, leave_after_chunks=2)

    await _stream(analytics, watcher, f"report=revenue&from={start}&to={end}&group_by=provider")

    assert watcher.reading[:2] == [0, 1]
    assert len(watcher.chunks) < 4
    assert await _open_report_transactions(analytics.sessions) == 0


@pytest.mark.parametrize("who", ["provider", "traveler"])
async def test_only_admins_export(analytics: ExportingApp, who: str) -> None:
    answer = await analytics.client.get(
        "/analytics/export",
        params={"report": "revenue", "from": "2031-01-01", "to": "2031-12-31"},
        headers=analytics.as_(make_identity(who)),  # type: ignore[arg-type]
    )
    assert (answer.status_code, answer.json()["error_code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize(
    "query",
    [
        {"report": "bookings"},
        {"report": "revenue", "format": "xlsx"},
        {"report": "revenue", "group_by": "listing"},
        {"report": "revenue", "from": "2031-12-31", "to": "2031-01-01"},
        {"from": "2031-01-01"},
    ],
)
async def test_an_unknown_report_format_or_option_is_refused_with_the_problem_body(
    analytics: ExportingApp, query: dict[str, str]
) -> None:
    answer = await analytics.client.get(
        "/analytics/export", params={"from": "2031-01-01", "to": "2031-12-31", **query}, headers=analytics.as_(ADMIN)
    )
    assert (answer.status_code, answer.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert answer.headers["content-type"].startswith("application/problem+json")
