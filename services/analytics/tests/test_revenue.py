import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.revenue.service import record_confirmed_booking, record_refund, revenue
from shared.contracts.booking import BookingConfirmed
from shared.contracts.payment import PaymentRefunded
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    engine = create_engine(database_url=database_url, schema="analytics")
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _confirmed(provider_id: uuid.UUID, *, total: str, currency: str) -> BookingConfirmed:
    now = datetime.now(UTC)
    return BookingConfirmed(
        booking_id=uuid.uuid4(),
        reference="BK-TEST",
        traveler_id=uuid.uuid4(),
        provider_id=provider_id,
        listing_id=uuid.uuid4(),
        listing_title="Harbour walk",
        category="tour",
        slot_id=uuid.uuid4(),
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=2),
        timezone="Asia/Kuwait",
        seats=2,
        total=Decimal(total),
        platform_fee=Decimal("2.247"),
        currency=currency,
        contact_name="Traveler",
        contact_email="traveler@example.com",
        confirmed_at=now,
    )


@pytest.mark.parametrize("refund_first", [True, False], ids=["refund-before-confirmation", "in-order"])
async def test_a_refund_counts_against_its_booking_whichever_event_arrives_first(
    sessions: async_sessionmaker[AsyncSession], refund_first: bool
) -> None:
    provider = Identity(user_id=uuid.uuid4(), email="provider@example.com", roles=("provider",))
    booking = _confirmed(provider.user_id, total="22.470", currency="KWD")
    refunds = [
        PaymentRefunded(booking_id=booking.booking_id, payment_intent_id="pi_1", amount=amount, currency="KWD")
        for amount in (Decimal("11.240"), Decimal("0.010"))
    ]
    steps: list[Callable[[AsyncSession], Awaitable[None]]] = [
        lambda session: record_confirmed_booking(session, booking),
        *[lambda session, refund=refund: record_refund(session, refund) for refund in refunds],
    ]
    if refund_first:
        steps.reverse()
    for step in steps:
        async with sessions.begin() as session:
            await step(session)

    async with sessions() as session:
        today = booking.confirmed_at.date()
        report = await revenue(session, viewer=provider, start=today, end=today, group_by="day")
    assert [(group.bookings, group.gmv, group.refunds, group.net) for group in report.groups] == [
        (1, Decimal("22.470"), Decimal("11.250"), Decimal("11.220"))
    ]
