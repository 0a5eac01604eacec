"""Revenue built from payment's ledger events and booking's, through the real consumer: GMV is
money captured (a deposit booking cancelled for its unpaid balance counts its deposit, a dearer
change adds its extra), a refund counts whichever topic arrives first, a repeated event counts
once, a provider sees only their own, and a replay in another order builds the same rollups."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from services.analytics.revenue.models import BookingFact, RevenueDay
from services.analytics.revenue.schemas import RevenueGroup
from services.analytics.revenue.service import UNATTRIBUTED
from services.analytics.tests.conftest import (
    RevenueEvents,
    cancelled,
    capture,
    confirmed,
    ledger,
    modified,
    new_booking,
    refund,
)
from shared.contracts.payment import LedgerTransactionRecorded
from shared.events.envelope import EventEnvelope
from shared.testing import make_identity

MORNING = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
ADMIN = make_identity("admin")


def _totals(groups: list[RevenueGroup]) -> list[tuple[object, ...]]:
    return [
        (group.group, group.currency, group.bookings, group.gmv, group.platform_fees, group.refunds, group.net)
        for group in groups
    ]


async def test_a_deposit_booking_cancelled_for_its_unpaid_balance_counts_only_its_deposit(
    revenue_events: RevenueEvents,
) -> None:
    provider = make_identity("provider")
    booking = new_booking(provider.user_id)
    await revenue_events.consume(
        capture(booking, "30.00", "4.50", at=MORNING),
        confirmed(booking, at=MORNING, total="100.00"),
        cancelled(booking, at=MORNING + timedelta(days=5), reason="balance unpaid"),
    )

    report = await revenue_events.report(
        provider, start=MORNING.date(), end=MORNING.date() + timedelta(days=6), group_by="month"
    )
    assert _totals(report.groups) == [
        ("2031-06-01", "EUR", 1, Decimal("30.00"), Decimal("4.50"), Decimal("0.00"), Decimal("30.00"))
    ]
    async with revenue_events.sessions() as session:
        fact = await session.get(BookingFact, booking.booking_id)
    assert fact is not None
    assert fact.status == "cancelled"


async def test_a_dearer_change_adds_its_extra_and_takes_the_booking_to_its_new_listing(
    revenue_events: RevenueEvents,
) -> None:
    provider = make_identity("provider")
    booking = new_booking(provider.user_id)
    other_listing = uuid.uuid4()
    next_day = MORNING + timedelta(days=1)
    await revenue_events.consume(
        confirmed(booking, at=MORNING, total="40.00"),
        capture(booking, "40.00", "6.00", at=MORNING),
        modified(booking, listing_id=other_listing, at=next_day, total="55.00", difference="15.00"),
        capture(booking, "15.00", "2.25", at=next_day),
    )

    report = await revenue_events.report(provider, start=MORNING.date(), end=next_day.date(), group_by="day")
    # Each day's money on the day it moved; the booking on the day it was confirmed.
    assert _totals(report.groups) == [
        (str(MORNING.date()), "EUR", 1, Decimal("40.00"), Decimal("6.00"), Decimal("0.00"), Decimal("40.00")),
        (str(next_day.date()), "EUR", 0, Decimal("15.00"), Decimal("2.25"), Decimal("0.00"), Decimal("15.00")),
    ]
    async with revenue_events.sessions() as session:
        listings = {
            listing: (bookings, gmv)
            for listing, bookings, gmv in (
                await session.execute(
                    select(RevenueDay.listing_id, RevenueDay.bookings, RevenueDay.gmv).where(
                        RevenueDay.provider_id == provider.user_id, RevenueDay.bookings + RevenueDay.gmv != 0
                    )
                )
            ).all()
        }
    assert set(listings) == {other_listing}


async def test_a_refund_before_its_bookings_confirmation_counts_to_its_provider_then_its_category(
    revenue_events: RevenueEvents,
) -> None:
    provider = make_identity("provider")
    booking = new_booking(provider.user_id, currency="KWD", category="activity")
    await revenue_events.consume(
        capture(booking, "22.470", "3.370", at=MORNING),
        refund(booking, "11.240", "1.690", at=MORNING),
        refund(booking, "0.010", "0.000", at=MORNING),
    )
    early = await revenue_events.report(provider, start=MORNING.date(), group_by="category")
    assert _totals(early.groups) == [
        (UNATTRIBUTED, "KWD", 0, Decimal("22.470"), Decimal("1.680"), Decimal("11.250"), Decimal("11.220"))
    ]

    await revenue_events.consume(confirmed(booking, at=MORNING, total="22.470"))

    report = await revenue_events.report(provider, start=MORNING.date(), group_by="category")
    assert _totals(report.groups) == [
        ("activity", "KWD", 1, Decimal("22.470"), Decimal("1.680"), Decimal("11.250"), Decimal("11.220"))
    ]


async def test_a_repeated_event_or_transaction_counts_once(revenue_events: RevenueEvents) -> None:
    provider = make_identity("provider")
    booking = new_booking(provider.user_id)
    paid = capture(booking, "50.00", "7.50", at=MORNING)
    # The same transaction announced again under another event id (a re-announcement).
    again = EventEnvelope.wrap(LedgerTransactionRecorded.model_validate(paid.payload), producer="payment", key=paid.key)
    confirmation = confirmed(booking, at=MORNING)
    await revenue_events.consume(paid, confirmation, paid, again, confirmation)

    report = await revenue_events.report(provider, start=MORNING.date(), group_by="provider")
    assert _totals(report.groups) == [
        (str(provider.user_id), "EUR", 1, Decimal("50.00"), Decimal("7.50"), Decimal("0.00"), Decimal("50.00"))
    ]


async def test_a_provider_sees_only_their_own_and_not_the_platforms_lines(revenue_events: RevenueEvents) -> None:
    mine, theirs = make_identity("provider"), make_identity("provider")
    own, other = new_booking(mine.user_id), new_booking(theirs.user_id, currency="JPY")
    expert = uuid.uuid4()
    await revenue_events.consume(
        confirmed(own, at=MORNING),
        capture(own, "80.00", "12.00", at=MORNING, credit="10.00"),
        ledger(
            own, "expert_fee", at=MORNING, entries=[("platform_revenue", "3.00"), (f"expert_payable:{expert}", "-3.00")]
        ),
        ledger(
            own,
            "payout",
            at=MORNING,
            entries=[(f"provider_payable:{mine.user_id}", "68.00"), ("stripe_balance", "-68.00")],
        ),
        ledger(own, "payout", at=MORNING, entries=[(f"expert_payable:{expert}", "3.00"), ("stripe_balance", "-3.00")]),
        confirmed(other, at=MORNING),
        capture(other, "9095", "1364", at=MORNING),
        ledger(
            other,
            "credit_grant",
            at=MORNING,
            entries=[("platform_credit_expense", "500"), (f"traveler_credit:{uuid.uuid4()}", "-500")],
        ),
    )

    report = await revenue_events.report(mine, start=MORNING.date(), group_by="currency")
    assert [
        (group.group, group.gmv, group.payouts, group.credits_spent, group.credits, group.expert_fees)
        for group in report.groups
    ] == [("EUR", Decimal("80.00"), Decimal("68.00"), Decimal("10.00"), None, None)]

    everyone = await revenue_events.report(ADMIN, start=MORNING.date(), group_by="currency")
    assert [
        (group.group, group.gmv, group.payouts, group.credits, group.expert_fees, group.expert_payouts)
        for group in everyone.groups
    ] == [
        ("EUR", Decimal("80.00"), Decimal("68.00"), Decimal("0.00"), Decimal("3.00"), Decimal("3.00")),
        ("JPY", Decimal("9095"), Decimal("0"), Decimal("500"), Decimal("0"), Decimal("0")),
    ]


async def test_a_carts_capture_counts_each_providers_share_to_that_provider(revenue_events: RevenueEvents) -> None:
    first, second = make_identity("provider"), make_identity("provider")
    booking, sibling = new_booking(first.user_id), new_booking(second.user_id)
    cart_capture = ledger(
        booking,
        "capture",
        at=MORNING,
        entries=[
            ("stripe_balance", "100.00"),
            (f"provider_payable:{first.user_id}", "-60.00"),
            (f"provider_payable:{first.user_id}", "9.00"),
            (f"provider_payable:{second.user_id}", "-40.00"),
            (f"provider_payable:{second.user_id}", "6.00"),
            ("platform_revenue", "-15.00"),
        ],
    )
    await revenue_events.consume(cart_capture, confirmed(booking, at=MORNING), confirmed(sibling, at=MORNING))

    for provider, gmv, fees in ((first, "60.00", "9.00"), (second, "40.00", "6.00")):
        report = await revenue_events.report(provider, start=MORNING.date(), group_by="provider")
        assert [(group.bookings, group.gmv, group.platform_fees) for group in report.groups] == [
            (1, Decimal(gmv), Decimal(fees))
        ]


async def test_replaying_the_events_in_another_order_into_an_empty_schema_builds_the_same_rollups(
    revenue_events: RevenueEvents,
) -> None:
    provider = make_identity("provider")
    deposit, changed = new_booking(provider.user_id), new_booking(provider.user_id, category="activity")
    booking_topic = [
        confirmed(deposit, at=MORNING),
        confirmed(changed, at=MORNING),
        modified(changed, listing_id=uuid.uuid4(), at=MORNING + timedelta(days=1), total="60.00", difference="20.00"),
        cancelled(deposit, at=MORNING + timedelta(days=2), reason="balance unpaid"),
    ]
    payment_topic = [
        capture(deposit, "30.00", "4.50", at=MORNING),
        capture(changed, "40.00", "6.00", at=MORNING),
        capture(changed, "20.00", "3.00", at=MORNING + timedelta(days=1)),
        refund(changed, "15.00", "2.25", at=MORNING + timedelta(days=3)),
    ]

    async def rollups() -> list[tuple[object, ...]]:
        async with revenue_events.sessions() as session:
            rows = await session.execute(
                select(RevenueDay).where(RevenueDay.provider_id == provider.user_id).order_by(RevenueDay.id)
            )
            return sorted(
                (
                    row.day,
                    str(row.listing_id),
                    str(row.category),
                    row.bookings,
                    row.gmv,
                    row.platform_fees,
                    row.refunds,
                )
                for row in rows.scalars()
                if row.bookings or row.gmv or row.platform_fees or row.refunds
            )

    await revenue_events.consume(*booking_topic, *payment_topic)
    in_order = await rollups()
    report = await revenue_events.report(
        ADMIN, start=MORNING.date(), end=MORNING.date() + timedelta(days=3), group_by="category"
    )

    await revenue_events.forget_everything()
    await revenue_events.consume(*payment_topic, *booking_topic)

    assert await rollups() == in_order
    assert (
        await revenue_events.report(
            ADMIN, start=MORNING.date(), end=MORNING.date() + timedelta(days=3), group_by="category"
        )
        == report
    )
    assert [(group.group, group.bookings, group.gmv, group.refunds) for group in report.groups] == [
        ("activity", 1, Decimal("60.00"), Decimal("15.00")),
        ("tour", 1, Decimal("30.00"), Decimal("0.00")),
    ]
