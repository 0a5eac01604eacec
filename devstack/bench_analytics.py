"""`make bench`, analytics part: a year (365 days) of 1,000,000 bookings over 2,000 listings of
300 providers, in three currencies, generated straight into a bench database's analytics schema
(built by analytics' own migrations) with set-based SQL; then the reports' real service
functions timed over the whole year, beside bare baselines measured in the same run.

The data: bookings per day follow a weekly (weekends busier) and a yearly season; listings are
picked with a skew (a few popular ones); each booking is captured on its confirmation (a fee of
15%) and 8% are cancelled within ten days and refunded in full (the fee given back). The
revenue_day rollup is built from the facts as the consumer would, revenue_provider_day from it as
migration 0008 does, and both are checked against the facts (and the one against the other).
The revenue report reads revenue_provider_day; the admin's reads as they were before it (from
revenue_day, the same SQL) are timed beside it as baselines.

The funnel's tables are filled as its consumer would from the same year: each confirmed booking
created minutes before and paid just before its confirmation, one in five matched by a booking
left unpaid; holds a little above the bookings and views on every listing's every day; 100,000
booking requests on one listing in ten, 85% answered after an exponential time of mean 4 hours.
Its confirmations are checked against the bookings by day and listing.

To time another report (popular listings...): add the SQL that fills its tables to
GENERATION_STEPS and its service call to TIMED_QUERIES; both run in order, each query RUNS times."""

import asyncio
import hashlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devstack.infra import ensure_database, ensure_postgres
from services.analytics.funnel.service import GroupBy as FunnelGroupBy
from services.analytics.funnel.service import conversion
from services.analytics.revenue.service import GroupBy, revenue
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head

BENCH_ANALYTICS_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_bench_analytics"
START = date(2030, 1, 1)
DAYS = 365
END = START + timedelta(days=DAYS - 1)
BOOKINGS = 1_000_000
LISTINGS = 2_000
PROVIDERS = 300
RUNS = 7

ADMIN = Identity(user_id=uuid.UUID(int=1), email="bench-admin@example.com", roles=("admin",))
# Provider 0 (md5('provider0'), as generated): the owner of listing 0, the most booked.
PROVIDER = Identity(
    user_id=uuid.UUID(hashlib.md5(b"provider0").hexdigest()),  # noqa: S324 (an id, as the SQL makes it)
    email="bench-provider@example.com",
    roles=("provider",),
)

_PRICE = "(20 + (abs(hashtext(booking_id::text)) % 28000) / 100.0)"
_AMOUNT = f"CASE currency WHEN 'JPY' THEN round({_PRICE} * 150) ELSE round({_PRICE}, 2) END"
_DIGITS = "CASE currency WHEN 'JPY' THEN 0 ELSE 2 END"

# (what it fills, SQL): run in order on one connection. (Only the bench's constants are formatted in.)
GENERATION_STEPS: list[tuple[str, str]] = [
    ("seed", "SELECT setseed(0.42)"),
    (
        "booking_fact",
        f"""
        INSERT INTO booking_fact (booking_id, provider_id, listing_id, category, currency, confirmed_at, status,
                                  cancelled_at)
        WITH day AS (
            SELECT d, DATE '{START}' + d AS on_day,
                   1 + 0.6 * (extract(isodow FROM DATE '{START}' + d) >= 6)::int + 0.4 * sin(2 * pi() * d / {DAYS})
                       AS weight
            FROM generate_series(0, {DAYS - 1}) AS d
        ), share AS (
            SELECT on_day, round({BOOKINGS} * weight / sum(weight) OVER ())::int AS n FROM day
        ), booked AS (
            SELECT on_day, floor({LISTINGS} * power(random(), 2))::int AS listing, random() < 0.08 AS cancelled,
                   on_day + random() * interval '1 day' AS confirmed_at
            FROM share, generate_series(1, n)
        )
        SELECT gen_random_uuid(),
               md5('provider' || listing % {PROVIDERS})::uuid,
               md5('listing' || listing)::uuid,
               (ARRAY['activity', 'tour', 'accommodation', 'transport', 'meal', 'package'])[1 + listing % 6],
               (ARRAY['EUR', 'USD', 'JPY'])[1 + listing % {PROVIDERS} % 3],
               confirmed_at,
               CASE WHEN cancelled THEN 'cancelled' ELSE 'confirmed' END,
               CASE WHEN cancelled THEN confirmed_at + random() * interval '10 days' END
        FROM booked
        """,  # noqa: S608 (only the bench's constants are formatted in)
    ),
    (
        "money_movement",
        f"""
        INSERT INTO money_movement (transaction_id, kind, booking_id, provider_id, currency, occurred_at, gmv,
                                    platform_fees, refunds)
        WITH priced AS (
            SELECT booking_id, provider_id, currency, confirmed_at, cancelled_at, amount,
                   round(amount * 0.15, {_DIGITS}) AS fee
            FROM (SELECT *, {_AMOUNT} AS amount FROM booking_fact) AS booked
        )
        SELECT gen_random_uuid(), 'capture', booking_id, provider_id, currency, confirmed_at, amount, fee, 0
        FROM priced
        UNION ALL
        SELECT gen_random_uuid(), 'refund', booking_id, provider_id, currency, cancelled_at, 0, -fee, amount
        FROM priced WHERE cancelled_at IS NOT NULL
        """,  # noqa: S608 (only the bench's constants are formatted in)
    ),
    (
        "revenue_day",
        """
        INSERT INTO revenue_day (day, provider_id, listing_id, category, currency, bookings, gmv, platform_fees,
                                 refunds)
        SELECT day, provider_id, listing_id, category, currency, sum(bookings), sum(gmv), sum(platform_fees),
               sum(refunds)
        FROM (
            SELECT (confirmed_at AT TIME ZONE 'UTC')::date AS day, provider_id, listing_id, category, currency,
                   1 AS bookings, 0 AS gmv, 0 AS platform_fees, 0 AS refunds
            FROM booking_fact
            UNION ALL
            SELECT (m.occurred_at AT TIME ZONE 'UTC')::date, b.provider_id, b.listing_id, b.category, m.currency,
                   0, m.gmv, m.platform_fees, m.refunds
            FROM money_movement AS m JOIN booking_fact AS b USING (booking_id)
        ) AS counted
        GROUP BY day, provider_id, listing_id, category, currency
        """,
    ),
    (
        "revenue_provider_day",
        # As migration 0008 fills it; the consumer keeps it beside revenue_day from then on.
        """
        INSERT INTO revenue_provider_day (day, provider_id, category, currency, bookings, gmv, platform_fees, refunds)
        SELECT day, provider_id, category, currency, sum(bookings), sum(gmv), sum(platform_fees), sum(refunds)
        FROM revenue_day GROUP BY day, provider_id, category, currency
        """,
    ),
    (
        "funnel_listing",
        f"""
        INSERT INTO funnel_listing (listing_id, provider_id)
        SELECT md5('listing' || listing)::uuid, md5('provider' || listing % {PROVIDERS})::uuid
        FROM generate_series(0, {LISTINGS - 1}) AS listing
        """,  # noqa: S608 (only the bench's constants are formatted in)
    ),
    (
        "funnel_booking",
        # Every confirmed booking was created minutes before and paid just before its
        # confirmation; besides them, one in five is matched by a booking created and left
        # unpaid (one in ten of those paid and never confirmed).
        """
        INSERT INTO funnel_booking (booking_id, provider_id, listing_id, created_at, paid_at, confirmed_at)
        SELECT booking_id, provider_id, listing_id, confirmed_at - paying - random() * interval '20 minutes',
               confirmed_at - paying, confirmed_at
        FROM (SELECT *, random() * interval '2 minutes' AS paying FROM booking_fact) AS confirmed
        UNION ALL
        SELECT gen_random_uuid(), provider_id, listing_id, created_at,
               CASE WHEN random() < 0.1 THEN created_at + random() * interval '10 minutes' END, NULL
        FROM (
            SELECT provider_id, listing_id, confirmed_at - random() * interval '1 hour' AS created_at
            FROM booking_fact WHERE random() < 0.2
        ) AS abandoned
        """,
    ),
    (
        "funnel_request",
        # Listings asked on request (one in ten, skewed like bookings), 100,000 requests a year:
        # 15% left to expire, the rest answered (accepted 60%, declined 25%, countered 15%, half
        # of the counters taken) after an exponential time of mean 4 hours.
        f"""
        INSERT INTO funnel_request (request_id, provider_id, listing_id, requested_at, response, responded_at,
                                    response_seconds, accepted_at)
        SELECT request_id, provider_id, listing_id, requested_at, response,
               requested_at + seconds * interval '1 second', seconds,
               CASE WHEN response = 'accepted' THEN requested_at + seconds * interval '1 second'
                    WHEN response = 'countered' AND random() < 0.5
                    THEN requested_at + seconds * interval '1 second' + random() * interval '1 day' END
        FROM (
            SELECT gen_random_uuid() AS request_id, md5('provider' || listing % {PROVIDERS})::uuid AS provider_id,
                   md5('listing' || listing)::uuid AS listing_id, requested_at,
                   CASE WHEN answer < 0.15 THEN NULL WHEN answer < 0.66 THEN 'accepted'
                        WHEN answer < 0.87 THEN 'declined' ELSE 'countered' END AS response,
                   CASE WHEN answer >= 0.15 THEN -ln(1 - random()) * 4 * 3600 END AS seconds
            FROM (
                SELECT 10 * floor({LISTINGS // 10} * power(random(), 2))::int AS listing, random() AS answer,
                       TIMESTAMPTZ '{START} 00:00Z' + random() * interval '{DAYS} days' AS requested_at
                FROM generate_series(1, 100000)
            ) AS asked
        ) AS answered
        """,  # noqa: S608 (only the bench's constants are formatted in)
    ),
    (
        "funnel_day",
        # The steps counted as the funnel's consumer counts them (each on its UTC day), on every
        # listing's every day of the year (views on each; holds a little above the bookings).
        f"""
        INSERT INTO funnel_day (day, provider_id, listing_id, views, holds, bookings, paid, confirmed, requests,
                                accepted)
        WITH counted AS (
            SELECT day, provider_id, listing_id, sum(bookings) AS bookings, sum(paid) AS paid,
                   sum(confirmed) AS confirmed, sum(requests) AS requests, sum(accepted) AS accepted
            FROM (
                SELECT (created_at AT TIME ZONE 'UTC')::date AS day, provider_id, listing_id, 1 AS bookings,
                       0 AS paid, 0 AS confirmed, 0 AS requests, 0 AS accepted
                FROM funnel_booking
                UNION ALL
                SELECT (paid_at AT TIME ZONE 'UTC')::date, provider_id, listing_id, 0, 1, 0, 0, 0
                FROM funnel_booking WHERE paid_at IS NOT NULL
                UNION ALL
                SELECT (confirmed_at AT TIME ZONE 'UTC')::date, provider_id, listing_id, 0, 0, 1, 0, 0
                FROM funnel_booking WHERE confirmed_at IS NOT NULL
                UNION ALL
                SELECT (requested_at AT TIME ZONE 'UTC')::date, provider_id, listing_id, 0, 0, 0, 1, 0
                FROM funnel_request
                UNION ALL
                SELECT (accepted_at AT TIME ZONE 'UTC')::date, provider_id, listing_id, 0, 0, 0, 0, 1
                FROM funnel_request WHERE accepted_at IS NOT NULL
            ) AS steps
            GROUP BY day, provider_id, listing_id
        ), every_day AS (
            SELECT DATE '{START}' + d AS day, md5('provider' || listing % {PROVIDERS})::uuid AS provider_id,
                   md5('listing' || listing)::uuid AS listing_id
            FROM generate_series(0, {DAYS - 1}) AS d, generate_series(0, {LISTINGS - 1}) AS listing
        ), held AS (
            SELECT day, provider_id, listing_id, coalesce(bookings, 0) AS bookings, coalesce(paid, 0) AS paid,
                   coalesce(confirmed, 0) AS confirmed, coalesce(requests, 0) AS requests,
                   coalesce(accepted, 0) AS accepted,
                   coalesce(bookings, 0) + floor(random() * (0.6 * coalesce(bookings, 0) + 2))::int AS holds
            FROM every_day FULL JOIN counted USING (day, provider_id, listing_id)
        )
        SELECT day, provider_id, listing_id, holds * (6 + floor(random() * 10)::int) + floor(random() * 20)::int,
               holds, bookings, paid, confirmed, requests, accepted
        FROM held
        """,  # noqa: S608 (only the bench's constants are formatted in)
    ),
    (
        "statistics",
        "ANALYZE booking_fact, money_movement, revenue_day, revenue_provider_day, funnel_listing, funnel_booking,"
        " funnel_request, funnel_day",
    ),
]

# A rollup against the facts, by day, provider and currency: keys where they differ, and keys.
ROLLUP_CHECK = """
WITH rolled AS (
    SELECT day, provider_id, currency, sum(bookings) AS bookings, sum(gmv) AS gmv,
           sum(platform_fees) AS platform_fees, sum(refunds) AS refunds
    FROM {rollup} GROUP BY day, provider_id, currency
), facts AS (
    SELECT day, provider_id, currency, sum(bookings) AS bookings, sum(gmv) AS gmv,
           sum(platform_fees) AS platform_fees, sum(refunds) AS refunds
    FROM (
        SELECT (confirmed_at AT TIME ZONE 'UTC')::date AS day, provider_id, currency, 1 AS bookings, 0 AS gmv,
               0 AS platform_fees, 0 AS refunds
        FROM booking_fact
        UNION ALL
        SELECT (occurred_at AT TIME ZONE 'UTC')::date, provider_id, currency, 0, gmv, platform_fees, refunds
        FROM money_movement
    ) AS every_fact
    GROUP BY day, provider_id, currency
)
SELECT count(*) FILTER (WHERE rolled IS DISTINCT FROM facts), count(*)
FROM rolled FULL JOIN facts USING (day, provider_id, currency)
"""

# The provider's rollup against the listings' summed, key for key (category included).
PROVIDER_ROLLUP_CHECK = """
WITH summed AS (
    SELECT day, provider_id, category, currency, sum(bookings) AS bookings, sum(gmv) AS gmv,
           sum(platform_fees) AS platform_fees, sum(refunds) AS refunds
    FROM revenue_day GROUP BY day, provider_id, category, currency
), coarse AS (
    SELECT day, provider_id, category, currency, bookings::bigint, gmv, platform_fees, refunds
    FROM revenue_provider_day
)
SELECT count(*) FILTER (WHERE summed IS DISTINCT FROM coarse), count(*)
FROM summed FULL JOIN coarse USING (day, provider_id, category, currency)
"""

# The admin's reports as they were read before revenue_provider_day: from the listings' rollup.
LISTING_ROLLUP_REPORT = f"""
SELECT {{key}} AS "group", currency, sum(bookings), sum(gmv), sum(platform_fees), sum(refunds), sum(credits),
       sum(credits_spent), sum(payouts), sum(expert_fees), sum(expert_payouts)
FROM revenue_day WHERE day >= DATE '{START}' AND day <= DATE '{END}'
GROUP BY 1, currency ORDER BY 1, currency
"""  # noqa: S608 (only the bench's constants are formatted in)
_LISTING_ROLLUP_KEYS = {
    "day": "to_char(date_trunc('day', day::timestamp)::date, 'YYYY-MM-DD')",
    "month": "to_char(date_trunc('month', day::timestamp)::date, 'YYYY-MM-DD')",
    "provider": "coalesce(provider_id::text, 'unattributed')",
}

# The funnel's confirmations against the bookings, by day and listing: keys where they differ, and keys.
FUNNEL_CHECK = """
WITH funnel AS (
    SELECT day, provider_id, listing_id, confirmed FROM funnel_day WHERE confirmed > 0
), facts AS (
    SELECT (confirmed_at AT TIME ZONE 'UTC')::date AS day, provider_id, listing_id, count(*) AS confirmed
    FROM booking_fact GROUP BY 1, 2, 3
)
SELECT count(*) FILTER (WHERE funnel.confirmed IS DISTINCT FROM facts.confirmed), count(*)
FROM funnel FULL JOIN facts USING (day, provider_id, listing_id)
"""

# The month report straight from the facts, without the rollup: what the rollup saves.
UNROLLED_MONTHS = f"""
SELECT month, currency, sum(bookings), sum(gmv), sum(platform_fees), sum(refunds)
FROM (
    SELECT date_trunc('month', confirmed_at) AS month, currency, 1 AS bookings, 0 AS gmv, 0 AS platform_fees,
           0 AS refunds
    FROM booking_fact WHERE confirmed_at >= DATE '{START}' AND confirmed_at < DATE '{END + timedelta(days=1)}'
    UNION ALL
    SELECT date_trunc('month', occurred_at), currency, 0, gmv, platform_fees, refunds
    FROM money_movement WHERE occurred_at >= DATE '{START}' AND occurred_at < DATE '{END + timedelta(days=1)}'
) AS every_fact
GROUP BY month, currency ORDER BY month, currency
"""  # noqa: S608 (only the bench's constants are formatted in)

Query = Callable[[AsyncSession], Awaitable[object]]


def _revenue(viewer: Identity, group_by: GroupBy) -> Query:
    return lambda session: revenue(session, viewer=viewer, start=START, end=END, group_by=group_by)


def _conversion(group_by: FunnelGroupBy | None, provider_id: uuid.UUID | None = None) -> Query:
    return lambda session: conversion(
        session, viewer=ADMIN, start=START, end=END, group_by=group_by, provider_id=provider_id
    )


def _sql(statement: str) -> Query:
    async def run(session: AsyncSession) -> object:
        return (await session.execute(text(statement))).all()

    return run


# (label, query): the reports' service functions over the whole year.
TIMED_QUERIES: list[tuple[str, Query]] = [
    *((f"revenue by {group_by}, admin", _revenue(ADMIN, group_by)) for group_by in ("day", "month", "provider")),
    *((f"revenue by {group_by}, one provider", _revenue(PROVIDER, group_by)) for group_by in ("day", "month")),
    ("conversion total, admin", _conversion(None)),
    *((f"conversion by {group_by}, admin", _conversion(group_by)) for group_by in ("month", "provider")),
    ("conversion by day, one provider", _conversion("day", PROVIDER.user_id)),
]
# (label, query): what the figures are compared with, in the same run.
BASELINES: list[tuple[str, Query]] = [
    ("SELECT 1 (round trip)", _sql("SELECT 1")),
    ("months from the facts, no rollup", _sql(UNROLLED_MONTHS)),
    *(
        (f"revenue by {group_by}, admin, old read", _sql(LISTING_ROLLUP_REPORT.format(key=key)))
        for group_by, key in _LISTING_ROLLUP_KEYS.items()
    ),
]


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000


async def _time(sessions: Callable[[], AsyncSession], label: str, query: Query) -> Timing:
    seconds = []
    for _ in range(RUNS):
        async with sessions() as session:
            started = time.perf_counter()
            await query(session)
            seconds.append(time.perf_counter() - started)
    return Timing(label, seconds)


async def _generate(sessions: Callable[[], AsyncSession]) -> list[tuple[str, float]]:
    took = []
    async with sessions() as session:
        await session.execute(text("SET synchronous_commit = off"))
        for label, statement in GENERATION_STEPS:
            started = time.perf_counter()
            await session.execute(text(statement))
            await session.commit()
            took.append((label, time.perf_counter() - started))
    return took


async def _measure() -> None:
    await ensure_postgres(BENCH_ANALYTICS_DATABASE_URL)
    await ensure_database(BENCH_ANALYTICS_DATABASE_URL, recreate=True)
    await asyncio.to_thread(
        upgrade_to_head, Path("services/analytics/migrations"), database_url=BENCH_ANALYTICS_DATABASE_URL
    )
    engine = create_engine(database_url=BENCH_ANALYTICS_DATABASE_URL, schema="analytics", pool_size=2)
    sessions = create_session_factory(engine)
    try:
        started = time.perf_counter()
        steps = await _generate(sessions)
        generated = time.perf_counter() - started
        async with sessions() as session:
            counts = (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM booking_fact), (SELECT count(*) FROM money_movement),"
                        " (SELECT count(*) FROM revenue_day), (SELECT count(*) FROM revenue_provider_day),"
                        " (SELECT count(*) FROM funnel_day),"
                        " (SELECT count(*) FROM funnel_booking), (SELECT count(*) FROM funnel_request)"
                    )
                )
            ).one()
            differing, keys = (await session.execute(text(ROLLUP_CHECK.format(rollup="revenue_day")))).one()
            coarse_differing, _ = (
                await session.execute(text(ROLLUP_CHECK.format(rollup="revenue_provider_day")))
            ).one()
            summed_differing, coarse_keys = (await session.execute(text(PROVIDER_ROLLUP_CHECK))).one()
            funnel_differing, funnel_keys = (await session.execute(text(FUNNEL_CHECK))).one()
        baselines = [await _time(sessions, label, query) for label, query in BASELINES]
        timings = [await _time(sessions, label, query) for label, query in TIMED_QUERIES]
    finally:
        await engine.dispose()

    bookings, movements, rollup_rows, provider_rows, funnel_days, funnel_bookings, requests = counts
    print(f"\nAnalytics ({bookings:,} bookings over {DAYS} days, {LISTINGS:,} listings, {PROVIDERS} providers)")
    print(
        f"{'generated':<34} {generated:7.1f} s   ("
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in steps if seconds >= 0.05)
        + ")"
    )
    print(
        f"{'rows':<34} {movements:,} money movements, {rollup_rows:,} revenue_day rows,"
        f" {provider_rows:,} revenue_provider_day rows"
    )
    print(
        f"{'funnel rows':<34} {funnel_days:,} funnel_day, {funnel_bookings:,} funnel_booking,"
        f" {requests:,} funnel_request rows"
    )
    print(
        f"{'rollup = facts':<34} {'yes' if differing == 0 else 'NO'}"
        f"   ({differing} of {keys:,} day/provider/currency sums differ)"
    )
    print(
        f"{'provider rollup = facts':<34} {'yes' if coarse_differing == 0 else 'NO'}"
        f"   ({coarse_differing} of {keys:,} day/provider/currency sums differ)"
    )
    print(
        f"{'provider rollup = listings summed':<34} {'yes' if summed_differing == 0 else 'NO'}"
        f"   ({summed_differing} of {coarse_keys:,} day/provider/category/currency sums differ)"
    )
    print(
        f"{'funnel confirmed = bookings':<34} {'yes' if funnel_differing == 0 else 'NO'}"
        f"   ({funnel_differing} of {funnel_keys:,} day/listing counts differ)"
    )
    round_trip, unrolled, *_ = baselines
    old_reads = {timing.label.removesuffix(", old read"): timing for timing in baselines[2:]}
    for timing in baselines:
        print(f"{timing.label:<38} median {timing.median_ms:8.1f} ms   (n={RUNS})")
    for timing in timings:
        old_read = old_reads.get(timing.label)
        print(
            f"{timing.label:<38} median {timing.median_ms:8.1f} ms   x{timing.median_ms / round_trip.median_ms:,.0f}"
            f" a round trip   x{timing.median_ms / unrolled.median_ms:.3f} the unrolled months"
            + ("" if old_read is None else f"   x{timing.median_ms / old_read.median_ms:.3f} the old read")
            + f"   (n={RUNS})"
        )
    if differing or coarse_differing:
        raise RuntimeError("a revenue rollup does not equal the sums of the facts")
    if summed_differing:
        raise RuntimeError("revenue_provider_day does not equal revenue_day summed over listings")
    if funnel_differing:
        raise RuntimeError("the funnel's confirmations do not equal the bookings")


def run() -> int:
    asyncio.run(_measure())
    return 0
