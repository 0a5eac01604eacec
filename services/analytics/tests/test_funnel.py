"""The conversion funnel built from inventory's and booking's events through the real consumer,
compared with figures worked out by hand: each step counts once on the UTC day it happened (a
booking paid again for a change counts once), response times run from the request to its
provider's first answer, a repeated event (a view count sent again after a crash) counts once,
and replaying the events into an empty schema, in another order across keys, gives the same."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.analytics.funnel.domain import percentile
from services.analytics.funnel.schemas import FunnelFigures
from services.analytics.funnel.service import CONVERSION_COLUMNS, GroupBy, conversion_rows
from services.analytics.tests.funnel_events import (
    FunnelEvents,
    Listing,
    Request,
    booked,
    confirmed,
    hold,
    paid,
    views,
)
from shared.errors import Forbidden
from shared.events.envelope import EventEnvelope
from shared.testing import make_identity

ADMIN = make_identity("admin")
DAY_ONE = datetime(2031, 6, 2, tzinfo=UTC)
DAY_TWO = DAY_ONE + timedelta(days=1)
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
GROUPINGS: tuple[GroupBy, ...] = ("day", "week", "listing", "provider")


def _script(harbour: Listing, dinner: Listing, elsewhere: Listing) -> list[EventEnvelope]:
    """Two listings of one provider and one of another, over two days."""
    bookings = [booked(harbour, at=DAY_ONE + 9 * HOUR + n * MINUTE) for n in range(4)]
    asked = [Request(harbour, DAY_ONE + 8 * HOUR + n * MINUTE) for n in range(5)]
    other = Request(elsewhere, DAY_ONE + 12 * HOUR)
    return [
        views(harbour, hour=DAY_ONE + 9 * HOUR, count=40),
        views(harbour, hour=DAY_ONE + 10 * HOUR, count=20),
        views(harbour, hour=DAY_TWO + 23 * HOUR, count=25),
        views(dinner, hour=DAY_ONE + 9 * HOUR, count=10),
        views(elsewhere, hour=DAY_ONE + 9 * HOUR, count=5),
        *(hold(harbour, at=DAY_ONE + 9 * HOUR) for _ in range(6)),
        *(hold(harbour, at=DAY_TWO + 9 * HOUR) for _ in range(2)),
        hold(dinner, at=DAY_ONE + 11 * HOUR),
        *bookings,
        paid(bookings[0], at=DAY_ONE + 10 * HOUR),
        confirmed(bookings[0], at=DAY_ONE + 10 * HOUR + MINUTE),
        paid(bookings[1], at=DAY_ONE + 10 * HOUR),
        confirmed(bookings[1], at=DAY_ONE + 10 * HOUR + MINUTE),
        # Paid again when a change's new seats are sold: still one booking paid.
        paid(bookings[1], at=DAY_TWO + 8 * HOUR),
        paid(bookings[2], at=DAY_TWO + 7 * HOUR),
        confirmed(bookings[2], at=DAY_TWO + 7 * HOUR + MINUTE),
        *(request.created() for request in asked),
        asked[0].accepted(after=10 * MINUTE),
        asked[1].declined(after=HOUR),
        asked[2].countered(after=30 * MINUTE),
        asked[2].counter_accepted(countered_after=30 * MINUTE, accepted_after=5 * HOUR),
        asked[3].accepted(after=2 * HOUR),
        asked[4].expired(after=48 * HOUR),
        other.created(),
        other.declined(after=100 * timedelta(seconds=1)),
    ]


def _figures(figures: FunnelFigures) -> dict[str, object]:
    return figures.model_dump(exclude={"group"})


HARBOUR_TWO_DAYS = {
    "views": 85,
    "holds": 8,
    "bookings": 4,
    "paid": 3,
    "confirmed": 3,
    "hold_rate": Decimal("0.0941"),
    "booking_rate": Decimal("0.5000"),
    "payment_rate": Decimal("0.7500"),
    "confirmation_rate": Decimal("1.0000"),
    "requests": 5,
    "accepted": 3,
    "acceptance_rate": Decimal("0.6000"),
    # Answered after 600, 1800 (the counter), 3600 and 7200 s; the expired one has no answer.
    "responses": 4,
    "response_median_seconds": 2700.0,
    "response_p90_seconds": pytest.approx(6120.0),
}


async def test_a_listings_funnel_and_response_times_equal_the_hand_computed_ones(
    funnel_events: FunnelEvents,
) -> None:
    harbour = Listing()
    dinner, elsewhere = Listing(provider_id=harbour.provider_id), Listing()
    await funnel_events.consume(*_script(harbour, dinner, elsewhere))

    report = await funnel_events.report(
        ADMIN, start=DAY_ONE.date(), end=DAY_TWO.date(), group_by="day", listing_id=harbour.listing_id
    )

    assert _figures(report.total) == HARBOUR_TWO_DAYS
    by_day = {group.group: group for group in report.groups}
    assert list(by_day) == ["2031-06-02", "2031-06-03"]
    day_one, day_two = by_day["2031-06-02"], by_day["2031-06-03"]
    steps = ("views", "holds", "bookings", "paid", "confirmed", "requests", "accepted", "responses")
    assert [getattr(day_one, step) for step in steps] == [60, 6, 4, 2, 2, 5, 3, 4]
    assert [getattr(day_two, step) for step in steps] == [25, 2, 0, 1, 1, 0, 0, 0]
    assert (day_two.booking_rate, day_two.payment_rate, day_two.acceptance_rate) == (Decimal("0"), None, None)
    assert day_two.response_median_seconds is None


async def test_the_funnel_groups_by_listing_and_provider_and_narrows_to_one_provider(
    funnel_events: FunnelEvents,
) -> None:
    harbour = Listing()
    dinner, elsewhere = Listing(provider_id=harbour.provider_id), Listing()
    await funnel_events.consume(*_script(harbour, dinner, elsewhere))
    start, end = DAY_ONE.date(), DAY_TWO.date()

    by_listing = await funnel_events.report(
        ADMIN, start=start, end=end, group_by="listing", provider_id=harbour.provider_id
    )
    assert {group.group: (group.views, group.holds, group.bookings) for group in by_listing.groups} == {
        str(harbour.listing_id): (85, 8, 4),
        str(dinner.listing_id): (10, 1, 0),
    }
    assert (by_listing.total.views, by_listing.total.holds, by_listing.total.hold_rate) == (95, 9, Decimal("0.0947"))

    by_provider = {
        group.group: group
        for group in (await funnel_events.report(ADMIN, start=start, end=end, group_by="provider")).groups
    }
    assert by_provider[str(elsewhere.provider_id)].views == 5
    assert by_provider[str(elsewhere.provider_id)].response_median_seconds == 100.0
    assert by_provider[str(elsewhere.provider_id)].acceptance_rate == Decimal("0")
    assert by_provider[str(harbour.provider_id)].response_p90_seconds == pytest.approx(6120.0)
    # Only the first day: day two's views and holds, and the payment of the third booking, are not in it.
    first_day = await funnel_events.report(ADMIN, start=DAY_ONE.date(), listing_id=harbour.listing_id)
    assert (first_day.total.views, first_day.total.holds, first_day.total.paid) == (60, 6, 2)
    assert first_day.groups == []


async def test_events_delivered_again_and_a_view_count_sent_again_count_once(funnel_events: FunnelEvents) -> None:
    harbour = Listing()
    script = _script(harbour, Listing(provider_id=harbour.provider_id), Listing())
    await funnel_events.consume(*script)
    counted = views(harbour, hour=DAY_ONE + 9 * HOUR, count=7)
    await funnel_events.consume(counted)
    # A flush that died after its commit sends its batch again: a new envelope, the same event id.
    await funnel_events.consume(
        *script, views(harbour, hour=DAY_ONE + 9 * HOUR, count=7).model_copy(update={"event_id": counted.event_id})
    )

    report = await funnel_events.report(ADMIN, start=DAY_ONE.date(), end=DAY_TWO.date(), listing_id=harbour.listing_id)
    assert _figures(report.total) == HARBOUR_TWO_DAYS | {"views": 92, "hold_rate": Decimal("0.0870")}


async def test_replaying_into_an_empty_schema_in_another_order_across_keys_gives_the_same_report(
    funnel_events: FunnelEvents,
) -> None:
    harbour = Listing()
    script = _script(harbour, Listing(provider_id=harbour.provider_id), Listing())
    await funnel_events.consume(*script)
    start, end = DAY_ONE.date() - timedelta(days=1), DAY_TWO.date() + timedelta(days=3)
    before = {by: await funnel_events.report(ADMIN, start=start, end=end, group_by=by) for by in GROUPINGS}

    await funnel_events.forget_everything()
    assert (await funnel_events.report(ADMIN, start=start, end=end)).total.views == 0
    # Each key's events stay in order (one partition each); keys interleave as they may.
    by_key: dict[str, list[EventEnvelope]] = {}
    for envelope in script:
        by_key.setdefault(envelope.key, []).append(envelope)
    queues = list(by_key.values())
    shuffled = random.Random(7)
    replay: list[EventEnvelope] = []
    while queues:
        queue = shuffled.choice(queues)
        replay.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    assert replay != script
    await funnel_events.consume(*replay)

    assert {by: await funnel_events.report(ADMIN, start=start, end=end, group_by=by) for by in GROUPINGS} == before


async def test_a_hold_from_before_holds_named_the_provider_counts_to_the_provider_another_event_named(
    funnel_events: FunnelEvents,
) -> None:
    harbour, unknown = Listing(), Listing()
    await funnel_events.consume(
        views(harbour, hour=DAY_ONE, count=3),
        hold(harbour, at=DAY_ONE + HOUR, with_provider=False),
        hold(unknown, at=DAY_ONE + HOUR, with_provider=False),
    )

    by_provider = await funnel_events.report(ADMIN, start=DAY_ONE.date(), group_by="provider")
    figures = {group.group: (group.views, group.holds) for group in by_provider.groups}
    assert figures[str(harbour.provider_id)] == (3, 1)
    assert figures["unattributed"] == (0, 1)


async def test_response_percentiles_are_postgresqls_continuous_ones(funnel_events: FunnelEvents) -> None:
    listing = Listing()
    draw = random.Random(16)
    waits = [timedelta(seconds=draw.randint(30, 172_800)) for _ in range(37)]
    asked = [Request(listing, DAY_ONE + n * MINUTE) for n in range(len(waits))]
    await funnel_events.consume(
        *(request.created() for request in asked),
        *(request.declined(after=wait) for request, wait in zip(asked, waits, strict=True)),
    )

    report = await funnel_events.report(
        ADMIN, start=DAY_ONE.date(), end=DAY_ONE.date() + timedelta(days=3), listing_id=listing.listing_id
    )
    seconds = [wait.total_seconds() for wait in waits]
    assert report.total.responses == len(waits)
    assert report.total.response_median_seconds == pytest.approx(percentile(seconds, 0.5))
    assert report.total.response_p90_seconds == pytest.approx(percentile(seconds, 0.9))


async def test_the_report_is_for_admins_only(funnel_events: FunnelEvents) -> None:
    provider = make_identity("provider")
    with pytest.raises(Forbidden):
        await funnel_events.report(provider, start=DAY_ONE.date(), provider_id=provider.user_id)


async def test_the_export_rows_carry_the_reports_figures_under_stable_columns(funnel_events: FunnelEvents) -> None:
    harbour = Listing()
    await funnel_events.consume(*_script(harbour, Listing(provider_id=harbour.provider_id), Listing()))

    async with funnel_events.sessions() as session:
        rows = [
            row
            async for row in conversion_rows(
                session,
                viewer=ADMIN,
                start=date(2031, 6, 2),
                end=date(2031, 6, 3),
                group_by="day",
                listing_id=harbour.listing_id,
            )
        ]
        whole = [
            row
            async for row in conversion_rows(
                session, viewer=ADMIN, start=date(2031, 6, 2), end=date(2031, 6, 3), listing_id=harbour.listing_id
            )
        ]

    assert CONVERSION_COLUMNS[:6] == ("group", "views", "holds", "bookings", "paid", "confirmed")
    assert [list(row) for row in rows + whole] == [list(CONVERSION_COLUMNS)] * 3
    assert [(row["group"], row["views"], row["payment_rate"]) for row in rows] == [
        ("2031-06-02", 60, "0.5000"),
        ("2031-06-03", 25, None),
    ]
    assert (whole[0]["group"], whole[0]["hold_rate"], whole[0]["response_median_seconds"]) == ("all", "0.0941", 2700.0)
