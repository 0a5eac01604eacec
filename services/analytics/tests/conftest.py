import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.funnel.service import FUNNEL_EVENTS
from services.analytics.revenue.models import BookingFact, MoneyMovement, RevenueDay, RevenueProviderDay
from services.analytics.revenue.schemas import Revenue
from services.analytics.revenue.service import REVENUE_EVENTS, GroupBy, revenue
from services.analytics.tests.funnel_events import FunnelEvents
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified
from shared.contracts.payment import LedgerLine, LedgerTransactionRecorded
from shared.db import create_engine, create_session_factory
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.events.models import InboxMessage
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.migrations import upgrade_to_head
from shared.testing import consumer_record


class RevenueEvents:
    """Analytics' revenue consumer, handed messages as Kafka would (the inbox in the way), and
    its report as the endpoint reads it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], consumer: EventConsumer) -> None:
        self.sessions = sessions
        self._consumer = consumer
        self._offset = 0

    async def consume(self, *envelopes: EventEnvelope) -> None:
        for envelope in envelopes:
            self._offset += 1
            await self._consumer.handle_record(consumer_record(envelope, self._offset))
            async with self.sessions() as session:
                applied = await session.scalar(
                    select(InboxMessage.event_id).where(
                        InboxMessage.consumer == REVENUE_EVENTS.name, InboxMessage.event_id == envelope.event_id
                    )
                )
            assert applied == envelope.event_id, f"{envelope.type} was not applied (dead-lettered)"

    async def report(self, viewer: Identity, *, start: date, end: date | None = None, group_by: GroupBy) -> Revenue:
        async with self.sessions() as session:
            return await revenue(session, viewer=viewer, start=start, end=end or start, group_by=group_by)

    async def forget_everything(self) -> None:
        """An empty analytics schema, as before a replay from offset 0."""
        async with self.sessions.begin() as session:
            for table in (InboxMessage, RevenueDay, RevenueProviderDay, MoneyMovement, BookingFact):
                await session.execute(delete(table))


@pytest.fixture
async def revenue_events(database_url: str, bootstrap_servers: str) -> AsyncIterator[RevenueEvents]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    engine = create_engine(database_url=database_url, schema="analytics")
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    sessions = create_session_factory(engine)
    try:
        events = RevenueEvents(
            sessions,
            EventConsumer(
                spec=REVENUE_EVENTS,
                session_factory=sessions,
                bootstrap_servers=bootstrap_servers,
                dead_letter_producer=dead_letters,
                metrics=AppMetrics("test").consumer,
                max_attempts=1,
            ),
        )
        await events.forget_everything()
        yield events
    finally:
        await dead_letters.stop()
        await engine.dispose()


@dataclass(frozen=True)
class Booking:
    booking_id: uuid.UUID
    provider_id: uuid.UUID
    listing_id: uuid.UUID
    category: str
    currency: str


def new_booking(
    provider_id: uuid.UUID | None = None,
    *,
    currency: str = "EUR",
    category: str = "tour",
    booking_id: uuid.UUID | None = None,
) -> Booking:
    return Booking(booking_id or uuid.uuid4(), provider_id or uuid.uuid4(), uuid.uuid4(), category, currency)


def confirmed(booking: Booking, *, at: datetime, total: str = "100.00") -> EventEnvelope:
    event = BookingConfirmed(
        booking_id=booking.booking_id,
        reference="TRV-2031-REVENUE",
        traveler_id=uuid.uuid4(),
        provider_id=booking.provider_id,
        listing_id=booking.listing_id,
        listing_title="Harbour walk",
        category=booking.category,
        slot_id=uuid.uuid4(),
        starts_at=at + timedelta(days=20),
        ends_at=at + timedelta(days=20, hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        total=Decimal(total),
        platform_fee=Decimal(0),
        currency=booking.currency,
        contact_name="Ana",
        contact_email="ana@example.com",
        confirmed_at=at,
    )
    return EventEnvelope.wrap(event, producer="booking", key=str(booking.booking_id))


def modified(booking: Booking, *, listing_id: uuid.UUID, at: datetime, total: str, difference: str) -> EventEnvelope:
    event = BookingModified(
        booking_id=booking.booking_id,
        modification_id=uuid.uuid4(),
        reference="TRV-2031-REVENUE",
        traveler_id=uuid.uuid4(),
        provider_id=booking.provider_id,
        listing_id=listing_id,
        listing_title="Harbour walk at dusk",
        old_slot_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        starts_at=at + timedelta(days=21),
        ends_at=at + timedelta(days=21, hours=2),
        timezone="Europe/Lisbon",
        seats=3,
        total=Decimal(total),
        difference=Decimal(difference),
        charged=Decimal(difference),
        currency=booking.currency,
        contact_name="Ana",
        contact_email="ana@example.com",
        modified_at=at,
        calendar_sequence=1,
    )
    return EventEnvelope.wrap(event, producer="booking", key=str(booking.booking_id))


def cancelled(booking: Booking, *, at: datetime, reason: str, refund: str = "0") -> EventEnvelope:
    event = BookingCancelled(
        booking_id=booking.booking_id,
        reference="TRV-2031-REVENUE",
        traveler_id=uuid.uuid4(),
        provider_id=booking.provider_id,
        listing_id=booking.listing_id,
        listing_title="Harbour walk",
        slot_id=uuid.uuid4(),
        starts_at=at + timedelta(days=20),
        ends_at=at + timedelta(days=20, hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        contact_name="Ana",
        contact_email="ana@example.com",
        cancelled_by="system",
        reason=reason,
        was_confirmed=True,
        was_paid=False,
        refund=Decimal(refund),
        credit=Decimal(0),
        currency=booking.currency,
        cancelled_at=at,
    )
    return EventEnvelope.wrap(event, producer="booking", key=str(booking.booking_id))


def ledger(
    booking: Booking,
    kind: str,
    *,
    at: datetime,
    entries: list[tuple[str, str]],
    transaction_id: uuid.UUID | None = None,
) -> EventEnvelope:
    """A transaction of payment's ledger as payment announces it."""
    transaction_id = transaction_id or uuid.uuid4()
    event = LedgerTransactionRecorded(
        transaction_id=transaction_id,
        kind=kind,
        booking_id=booking.booking_id,
        reference=f"{kind}:{transaction_id}",
        currency=booking.currency,
        occurred_at=at,
        entries=[LedgerLine(account=account, amount=Decimal(amount)) for account, amount in entries],
    )
    assert sum(line.amount for line in event.entries) == 0
    return EventEnvelope.wrap(event, producer="payment", key=str(booking.booking_id))


def capture(booking: Booking, amount: str, fee: str, *, at: datetime, credit: str = "0") -> EventEnvelope:
    """As payment posts a captured share: Stripe holds it, the provider is owed it less our fee
    (the part paid with the traveler's credit comes out of their credit instead)."""
    payable = f"provider_payable:{booking.provider_id}"
    entries = [
        ("stripe_balance", amount),
        (payable, f"-{amount}"),
        (payable, fee),
        ("platform_revenue", f"-{fee}"),
    ]
    if Decimal(credit):
        traveler = f"traveler_credit:{uuid.uuid4()}"
        entries += [(traveler, credit), ("stripe_balance", f"-{credit}")]
    return ledger(booking, "capture", at=at, entries=entries)


def refund(booking: Booking, amount: str, fee_back: str, *, at: datetime) -> EventEnvelope:
    payable = f"provider_payable:{booking.provider_id}"
    return ledger(
        booking,
        "refund",
        at=at,
        entries=[
            ("stripe_balance", f"-{amount}"),
            (payable, amount),
            (payable, f"-{fee_back}"),
            ("platform_revenue", fee_back),
        ],
    )


@pytest.fixture
async def funnel_events(database_url: str, bootstrap_servers: str) -> AsyncIterator[FunnelEvents]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    engine = create_engine(database_url=database_url, schema="analytics")
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    sessions = create_session_factory(engine)
    try:
        events = FunnelEvents(
            sessions,
            EventConsumer(
                spec=FUNNEL_EVENTS,
                session_factory=sessions,
                bootstrap_servers=bootstrap_servers,
                dead_letter_producer=dead_letters,
                metrics=AppMetrics("test").consumer,
                max_attempts=1,
            ),
        )
        await events.forget_everything()
        yield events
    finally:
        await dead_letters.stop()
        await engine.dispose()
