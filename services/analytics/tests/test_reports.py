"""Popular listings, occupancy and booking outcomes built from events through the real consumers
(revenue's, occupancy's and outcomes'), each handed every message of its topics as Kafka would:
a repeated event, or the same sale told twice, counts once; events out of order give the same
figures; a provider sees only their own listings (another's is 404); and emptying the schema and
replaying everything, in another order, gives the same reports."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analytics.listings.models import ListingDimension
from services.analytics.occupancy.models import SeatChange, SlotOccupancy
from services.analytics.occupancy.service import OCCUPANCY_COLUMNS, OCCUPANCY_EVENTS, occupancy_report, occupancy_rows
from services.analytics.outcomes.models import BookingOutcome, OutcomeDay
from services.analytics.outcomes.service import (
    CANCELLATION_COLUMNS,
    OUTCOME_EVENTS,
    cancellation_rows,
    cancellations,
)
from services.analytics.popular.service import POPULAR_COLUMNS, popular_listings, popular_rows
from services.analytics.revenue.models import BookingFact, MoneyMovement, RevenueDay, RevenueProviderDay
from services.analytics.revenue.service import REVENUE_EVENTS
from services.analytics.tests.conftest import Booking, capture, confirmed, refund
from shared.contracts.booking import (
    UNPAID_BALANCE_REASON,
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingModified,
    BookingNoShow,
)
from shared.contracts.inventory import SeatsConfirmed, SeatsReturned
from shared.db import create_engine, create_session_factory
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import InboxMessage
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.migrations import upgrade_to_head
from shared.testing import consumer_record, make_identity

ADMIN = make_identity("admin")
MORNING = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
SLOT_DAY = date(2031, 7, 1)
SPAN: dict[str, Any] = {"start": date(2031, 1, 1), "end": date(2031, 12, 31)}
TABLES = (
    InboxMessage,
    RevenueDay,
    RevenueProviderDay,
    MoneyMovement,
    BookingFact,
    ListingDimension,
    SlotOccupancy,
    SeatChange,
    BookingOutcome,
    OutcomeDay,
)


class ReportEvents:
    """Analytics' consumers, each handed every message (the inbox in the way, and each skipping
    what is not its business), as they read their topics."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], consumers: list[EventConsumer]) -> None:
        self.sessions = sessions
        self._consumers = consumers
        self._offset = 0

    async def consume(self, *envelopes: EventEnvelope) -> None:
        for envelope in envelopes:
            self._offset += 1
            for consumer in self._consumers:
                await consumer.handle_record(consumer_record(envelope, self._offset))
            async with self.sessions() as session:
                applied = await session.scalar(
                    select(InboxMessage.event_id).where(InboxMessage.event_id == envelope.event_id).limit(1)
                )
            assert applied == envelope.event_id, f"{envelope.type} was not applied (dead-lettered)"

    async def read(self, query: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with self.sessions() as session:
            return await query(session)

    async def forget_everything(self) -> None:
        async with self.sessions.begin() as session:
            for table in TABLES:
                await session.execute(delete(table))


@pytest.fixture
async def report_events(database_url: str, bootstrap_servers: str) -> AsyncIterator[ReportEvents]:
    await asyncio.to_thread(upgrade_to_head, Path("services/analytics/migrations"), database_url=database_url)
    engine = create_engine(database_url=database_url, schema="analytics")
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    sessions = create_session_factory(engine)
    metrics = AppMetrics("test").consumer
    try:
        consumers = [
            EventConsumer(
                spec=spec,
                session_factory=sessions,
                bootstrap_servers=bootstrap_servers,
                dead_letter_producer=dead_letters,
                metrics=metrics,
                max_attempts=1,
            )
            for spec in (REVENUE_EVENTS, OUTCOME_EVENTS, OCCUPANCY_EVENTS)
        ]
        events = ReportEvents(sessions, consumers)
        await events.forget_everything()
        yield events
    finally:
        await dead_letters.stop()
        await engine.dispose()


def _booking_event(payload: EventPayload, booking_id: uuid.UUID) -> EventEnvelope:
    return EventEnvelope.wrap(payload, producer="booking", key=str(booking_id))


# Popular listings


def _titled(booking: Booking, *, at: datetime, title: str, total: str) -> EventEnvelope:
    """booking.confirmed, with the listing's title as the booking knew it."""
    envelope = confirmed(booking, at=at, total=total)
    return envelope.model_copy(update={"payload": envelope.payload | {"listing_title": title}})


async def test_popular_ranks_listings_by_bookings_or_by_revenue_in_one_currency_with_their_titles(
    report_events: ReportEvents,
) -> None:
    provider, other = uuid.uuid4(), uuid.uuid4()
    kayak, walk, sushi = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def booking(listing: uuid.UUID, owner: uuid.UUID, currency: str = "EUR") -> Booking:
        return Booking(uuid.uuid4(), owner, listing, "tour", currency)

    kayaks = [booking(kayak, provider) for _ in range(3)]
    walks = [booking(walk, provider) for _ in range(2)]
    sushis = [booking(sushi, other, "JPY") for _ in range(4)]
    envelopes = []
    # The kayak's latest confirmation names it anew; it arrives first.
    envelopes.append(_titled(kayaks[2], at=MORNING + timedelta(hours=2), title="Kayak at dusk", total="50.00"))
    for number, sold in enumerate(kayaks[:2]):
        envelopes.append(_titled(sold, at=MORNING + timedelta(minutes=number), title="Kayak", total="50.00"))
    for sold in kayaks:
        envelopes.append(capture(sold, "50.00", "5.00", at=MORNING))
    for sold in walks:
        envelopes += [_titled(sold, at=MORNING, title="Old town walk", total="120.00")]
        envelopes.append(capture(sold, "120.00", "12.00", at=MORNING))
    envelopes.append(refund(walks[0], "120.00", "12.00", at=MORNING + timedelta(days=1)))
    for sold in sushis:
        envelopes += [_titled(sold, at=MORNING, title="Sushi class", total="8000")]
        envelopes.append(capture(sold, "8000", "800", at=MORNING))
    await report_events.consume(*envelopes)
    envelopes[0] = envelopes[0].model_copy(update={"event_id": uuid.uuid4()})
    await report_events.consume(envelopes[0], envelopes[3])  # told again, and redelivered

    def ranking(**query: Any) -> Any:
        return report_events.read(lambda session: popular_listings(session, viewer=ADMIN, **(SPAN | query)))

    by_bookings = await ranking(by="bookings")
    assert [(item.rank, item.title, item.bookings) for item in by_bookings.items] == [
        (1, "Sushi class", 4),
        (2, "Kayak at dusk", 3),
        (3, "Old town walk", 2),
    ]
    assert by_bookings.items[0].provider_id == other
    assert [(money.currency, money.gmv, money.refunds, money.net) for money in by_bookings.items[2].revenue] == [
        ("EUR", Decimal("240.00"), Decimal("120.00"), Decimal("120.00"))
    ]
    by_euros = await ranking(by="revenue", currency="EUR")
    assert [(item.listing_id, item.revenue[0].gmv) for item in by_euros.items] == [
        (walk, Decimal("240.00")),
        (kayak, Decimal("150.00")),
    ]
    assert [item.listing_id for item in (await ranking(by="bookings", provider_id=provider, limit=1)).items] == [kayak]
    assert (await ranking(by="bookings", start=MORNING.date() + timedelta(days=1))).items == []
    with pytest.raises(InvalidInput):
        await ranking(by="revenue")
    with pytest.raises(Forbidden):
        await report_events.read(
            lambda session: popular_listings(session, viewer=make_identity("provider"), **SPAN, by="bookings")
        )

    async def exported(session: AsyncSession) -> list[dict[str, object]]:
        return [row async for row in popular_rows(session, viewer=ADMIN, **SPAN, by="bookings")]

    rows = await report_events.read(exported)
    assert all(tuple(row) == POPULAR_COLUMNS for row in rows)
    assert [(row["title"], row["currency"], row["gmv"]) for row in rows] == [
        ("Sushi class", "JPY", Decimal(32000)),
        ("Kayak at dusk", "EUR", Decimal("150.00")),
        ("Old town walk", "EUR", Decimal("240.00")),
    ]


# Occupancy


@dataclass(frozen=True)
class Slot:
    slot_id: uuid.UUID
    listing_id: uuid.UUID
    starts_at: datetime
    capacity: int
    per_day: bool = False


def _sold(slot: Slot, seats: int, *, hold_id: uuid.UUID, at: datetime, capacity: int | None = None) -> EventEnvelope:
    event = SeatsConfirmed(
        booking_id=uuid.uuid4(),
        hold_id=hold_id,
        slot_id=slot.slot_id,
        listing_id=slot.listing_id,
        seats=seats,
        late=False,
        starts_at=slot.starts_at,
        local_date=slot.starts_at.date(),
        capacity=capacity or slot.capacity,
        capacity_per_day=slot.per_day,
    )
    return EventEnvelope.wrap(event, producer="inventory", key=str(slot.slot_id), occurred_at=at)


def _returned(slot: Slot, seats: int, *, hold_id: uuid.UUID, at: datetime) -> EventEnvelope:
    event = SeatsReturned(
        booking_id=uuid.uuid4(),
        hold_id=hold_id,
        slot_id=slot.slot_id,
        listing_id=slot.listing_id,
        seats=seats,
        available=0,
        local_date=slot.starts_at.date(),
        starts_at=slot.starts_at,
        capacity=slot.capacity,
        capacity_per_day=slot.per_day,
    )
    return EventEnvelope.wrap(event, producer="inventory", key=str(slot.slot_id), occurred_at=at)


def _owned(listing_id: uuid.UUID, provider_id: uuid.UUID) -> EventEnvelope:
    """A confirmation that tells analytics whose the listing is."""
    return confirmed(Booking(uuid.uuid4(), provider_id, listing_id, "tour", "EUR"), at=MORNING)


async def test_occupancy_is_seats_sold_over_seats_offered_per_slot_and_per_day_each_sale_counted_once(
    report_events: ReportEvents,
) -> None:
    provider = make_identity("provider")
    kayak, boat, stranger_listing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ten = datetime(2031, 7, 1, 9, tzinfo=UTC)
    morning = Slot(uuid.uuid4(), kayak, ten, capacity=10)
    noon = Slot(uuid.uuid4(), kayak, ten + timedelta(hours=3), capacity=5)
    # The boat's capacity is per day: its slots share 6 seats.
    boat_am, boat_pm = (
        Slot(uuid.uuid4(), boat, ten + timedelta(minutes=minutes), capacity=6, per_day=True) for minutes in (30, 240)
    )
    strangers = Slot(uuid.uuid4(), stranger_listing, ten, capacity=8)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    returned_first = _returned(morning, 2, hold_id=first, at=MORNING + timedelta(hours=3))
    await report_events.consume(
        _owned(kayak, provider.user_id),
        _owned(boat, provider.user_id),
        _owned(stranger_listing, uuid.uuid4()),
        # The return is read before its sale (the consumer caught up on another partition first).
        returned_first,
        _sold(morning, 2, hold_id=first, at=MORNING),
        _sold(morning, 3, hold_id=second, at=MORNING + timedelta(hours=1)),
        _sold(noon, 5, hold_id=third, at=MORNING),
        _sold(boat_am, 2, hold_id=uuid.uuid4(), at=MORNING),
        _sold(boat_pm, 3, hold_id=uuid.uuid4(), at=MORNING),
        _sold(strangers, 4, hold_id=uuid.uuid4(), at=MORNING),
    )
    # Delivered again (the inbox), and the same sale told again by another event (its hold).
    await report_events.consume(returned_first)
    await report_events.consume(_sold(morning, 3, hold_id=second, at=MORNING + timedelta(hours=1)))

    def report(viewer: Identity, **query: Any) -> Any:
        parameters: dict[str, Any] = {"start": SLOT_DAY, "end": SLOT_DAY, "group_by": "slot", "limit": 50} | query
        return report_events.read(lambda session: occupancy_report(session, viewer=viewer, **parameters))

    slots = await report(provider)
    assert [(item.slot_id, item.seats_sold, item.capacity, item.occupancy) for item in slots.items] == [
        (morning.slot_id, 3, 10, 0.3),
        (boat_am.slot_id, 2, 6, 0.3333),
        (noon.slot_id, 5, 5, 1.0),
        (boat_pm.slot_id, 3, 6, 0.5),
    ]
    days = await report(provider, group_by="day")
    assert {(item.listing_id, item.slots, item.seats_sold, item.capacity, item.occupancy) for item in days.items} == {
        (kayak, 2, 8, 15, 0.5333),
        (boat, 2, 5, 6, 0.8333),
    }
    assert len((await report(ADMIN, group_by="day")).items) == 3
    assert (await report(provider, start=SLOT_DAY + timedelta(days=1), end=SLOT_DAY + timedelta(days=2))).items == []
    with pytest.raises(NotFound):
        await report(provider, listing_id=stranger_listing)
    assert [item.slot_id for item in (await report(ADMIN, listing_id=stranger_listing)).items] == [strangers.slot_id]

    # A later capacity wins; an earlier one read after it does not.
    await report_events.consume(
        _sold(morning, 1, hold_id=uuid.uuid4(), at=MORNING + timedelta(days=1), capacity=12),
        _sold(morning, 1, hold_id=uuid.uuid4(), at=MORNING + timedelta(hours=5), capacity=10),
    )
    again = await report(provider, listing_id=kayak)
    assert (again.items[0].seats_sold, again.items[0].capacity, again.items[0].occupancy) == (5, 12, 0.4167)

    # Pages follow each other with the cursor, and the export reads them all.
    first_page = await report(provider, limit=3)
    second_page = await report(provider, limit=3, cursor=first_page.next_cursor)
    assert [item.slot_id for item in first_page.items + second_page.items] == [
        morning.slot_id,
        boat_am.slot_id,
        noon.slot_id,
        boat_pm.slot_id,
    ]
    assert second_page.next_cursor is None
    with pytest.raises(InvalidInput):
        await report(provider, cursor="not-a-cursor")

    async def exported(session: AsyncSession) -> list[dict[str, object]]:
        return [
            row
            async for row in occupancy_rows(
                session, viewer=provider, start=SLOT_DAY, end=SLOT_DAY, group_by="slot", page_size=1
            )
        ]

    rows = await report_events.read(exported)
    assert all(tuple(row) == OCCUPANCY_COLUMNS for row in rows)
    assert [row["slot_id"] for row in rows] == [item.slot_id for item in first_page.items + second_page.items]


# Cancellations, no-shows and completions


@dataclass(frozen=True)
class Sale:
    booking_id: uuid.UUID
    provider_id: uuid.UUID
    listing_id: uuid.UUID
    starts_at: datetime


def _confirmed(sale: Sale, *, at: datetime = MORNING) -> EventEnvelope:
    envelope = confirmed(Booking(sale.booking_id, sale.provider_id, sale.listing_id, "tour", "EUR"), at=at)
    payload = envelope.payload | {"starts_at": sale.starts_at.isoformat(), "timezone": "Europe/Lisbon"}
    return envelope.model_copy(update={"payload": BookingConfirmed.model_validate(payload).model_dump(mode="json")})


def _cancelled(
    sale: Sale,
    *,
    by: str,
    reason: str = "plans changed",
    blackout: bool = False,
    was_confirmed: bool = True,
    at: datetime = MORNING + timedelta(days=1),
) -> EventEnvelope:
    event = BookingCancelled(
        booking_id=sale.booking_id,
        reference="TRV-2031-REPORTS",
        traveler_id=uuid.uuid4(),
        provider_id=sale.provider_id,
        listing_id=sale.listing_id,
        listing_title="Kayak",
        slot_id=uuid.uuid4(),
        starts_at=sale.starts_at,
        ends_at=sale.starts_at + timedelta(hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        contact_name="Ana",
        contact_email="ana@example.com",
        cancelled_by=by,
        reason=reason,
        was_confirmed=was_confirmed,
        was_paid=was_confirmed,
        refund=Decimal(0),
        credit=Decimal(0),
        currency="EUR",
        cancelled_at=at,
        blackout_id=uuid.uuid4() if blackout else None,
    )
    return _booking_event(event, sale.booking_id)


def _completed(sale: Sale) -> EventEnvelope:
    event = BookingCompleted(
        booking_id=sale.booking_id,
        traveler_id=uuid.uuid4(),
        provider_id=sale.provider_id,
        listing_id=sale.listing_id,
        completed_at=sale.starts_at + timedelta(hours=2),
    )
    return _booking_event(event, sale.booking_id)


def _no_show(sale: Sale) -> EventEnvelope:
    event = BookingNoShow(
        booking_id=sale.booking_id,
        traveler_id=uuid.uuid4(),
        provider_id=sale.provider_id,
        listing_id=sale.listing_id,
        reported_by=sale.provider_id,
        reported_at=sale.starts_at + timedelta(minutes=30),
    )
    return _booking_event(event, sale.booking_id)


def _moved(sale: Sale, *, to: datetime, at: datetime) -> EventEnvelope:
    event = BookingModified(
        booking_id=sale.booking_id,
        modification_id=uuid.uuid4(),
        reference="TRV-2031-REPORTS",
        traveler_id=uuid.uuid4(),
        provider_id=sale.provider_id,
        listing_id=sale.listing_id,
        listing_title="Kayak",
        old_slot_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        starts_at=to,
        ends_at=to + timedelta(hours=2),
        timezone="Europe/Lisbon",
        seats=2,
        total=Decimal(100),
        difference=Decimal(0),
        currency="EUR",
        contact_name="Ana",
        contact_email="ana@example.com",
        modified_at=at,
        calendar_sequence=1,
    )
    return _booking_event(event, sale.booking_id)


def _outcome_events(provider: uuid.UUID, kayak: uuid.UUID, walk: uuid.UUID) -> list[EventEnvelope]:
    """On 1 July (Lisbon): the kayak's 8 bookings end every way there is, plus one cancelled
    unpaid (never counted) and one moved to August; the walk's 2: one completed, one no-show."""
    # 23:30 UTC on 30 June is 00:30 on 1 July in Lisbon: it counts on the 1st.
    start = datetime(2031, 6, 30, 23, 30, tzinfo=UTC)
    sales = [Sale(uuid.uuid4(), provider, kayak, start) for _ in range(10)]
    walks = [Sale(uuid.uuid4(), provider, walk, start + timedelta(hours=10)) for _ in range(2)]
    done, no_show, traveler, unpaid, by_provider, blackout, _open, unconfirmed, moved, cancelled_first = sales
    return [
        *(_confirmed(sale) for sale in sales if sale is not unconfirmed and sale is not cancelled_first),
        # Read before its confirmation: the cancellation says where it was, and that it was confirmed.
        _cancelled(cancelled_first, by="traveler"),
        _confirmed(cancelled_first),
        _completed(done),
        _no_show(no_show),
        _cancelled(traveler, by="traveler"),
        _cancelled(unpaid, by="traveler", reason=UNPAID_BALANCE_REASON),
        _cancelled(by_provider, by="provider", reason="the boat broke"),
        _cancelled(blackout, by="provider", reason="storm", blackout=True),
        _cancelled(unconfirmed, by="traveler", was_confirmed=False),
        _moved(moved, to=datetime(2031, 8, 2, 9, tzinfo=UTC), at=MORNING + timedelta(days=2)),
        # The walk's end comes before its confirmation.
        _completed(walks[0]),
        *(_confirmed(sale) for sale in walks),
        _no_show(walks[1]),
    ]


def _figures(page: Any) -> dict[str, tuple[object, ...]]:
    return {
        item.group: (
            item.confirmed,
            item.open,
            item.completed,
            item.no_shows,
            item.cancelled_by_traveler,
            item.unpaid_balance,
            item.cancelled_by_provider,
            item.blackouts,
            item.cancellation_rate,
            item.no_show_rate,
        )
        for item in page.items
    }


async def test_cancellations_no_shows_and_completions_are_counted_per_listing_and_provider_on_the_service_date(
    report_events: ReportEvents,
) -> None:
    provider = make_identity("provider")
    kayak, walk = uuid.uuid4(), uuid.uuid4()
    events = _outcome_events(provider.user_id, kayak, walk)
    await report_events.consume(*events)
    await report_events.consume(*events[-3:])  # redelivered

    def report(viewer: Identity, **query: Any) -> Any:
        parameters: dict[str, Any] = {"start": SLOT_DAY, "end": SLOT_DAY, "group_by": "listing", "limit": 50} | query
        return report_events.read(lambda session: cancellations(session, viewer=viewer, **parameters))

    by_listing = await report(provider)
    assert _figures(by_listing) == {
        # confirmed, open, completed, no-shows, by traveler (with unpaid), unpaid, by provider
        # (with blackouts), blackouts, cancellation rate, no-show rate
        str(kayak): (8, 1, 1, 1, 3, 1, 2, 1, 0.625, 0.5),
        str(walk): (2, 0, 1, 1, 0, 0, 0, 0, 0.0, 0.5),
    }
    assert {item.title for item in by_listing.items} == {"Harbour walk"}
    by_provider = await report(provider, group_by="provider")
    assert _figures(by_provider) == {str(provider.user_id): (10, 1, 2, 2, 3, 1, 2, 1, 0.5, 0.5)}
    assert by_provider.items[0].listing_id is None
    # The moved booking counts in August.
    august = await report(provider, start=date(2031, 8, 1), end=date(2031, 8, 31))
    assert _figures(august) == {str(kayak): (1, 1, 0, 0, 0, 0, 0, 0, 0.0, None)}
    # Nobody else's.
    assert (await report(make_identity("provider"))).items == []
    assert {item.group for item in (await report(ADMIN)).items} >= {str(kayak), str(walk)}

    first_page = await report(provider, limit=1)
    second_page = await report(provider, limit=1, cursor=first_page.next_cursor)
    assert {item.group for item in first_page.items + second_page.items} == {str(kayak), str(walk)}
    assert second_page.next_cursor is None

    async def exported(session: AsyncSession) -> list[dict[str, object]]:
        return [
            row
            async for row in cancellation_rows(
                session, viewer=provider, start=SLOT_DAY, end=SLOT_DAY, group_by="listing", page_size=1
            )
        ]

    rows = await report_events.read(exported)
    assert all(tuple(row) == CANCELLATION_COLUMNS for row in rows)
    assert sorted((row["group"], row["confirmed"]) for row in rows) == sorted([(str(kayak), 8), (str(walk), 2)])


async def test_a_replay_into_an_empty_schema_in_another_order_gives_the_same_reports(
    report_events: ReportEvents,
) -> None:
    provider = make_identity("provider")
    kayak, walk = uuid.uuid4(), uuid.uuid4()
    ten = datetime(2031, 7, 1, 9, tzinfo=UTC)
    slot = Slot(uuid.uuid4(), kayak, ten, capacity=10)
    hold = uuid.uuid4()
    events = [
        *_outcome_events(provider.user_id, kayak, walk),
        _sold(slot, 4, hold_id=hold, at=MORNING),
        _sold(slot, 2, hold_id=uuid.uuid4(), at=MORNING),
        _returned(slot, 4, hold_id=hold, at=MORNING + timedelta(days=1)),
    ]

    async def reports() -> tuple[object, ...]:
        async def read(session: AsyncSession) -> tuple[object, ...]:
            outcomes = await cancellations(
                session, viewer=provider, start=SLOT_DAY, end=date(2031, 8, 31), group_by="listing", limit=50
            )
            seats = await occupancy_report(
                session, viewer=provider, start=SLOT_DAY, end=SLOT_DAY, group_by="day", limit=50
            )
            ranking = await popular_listings(session, viewer=ADMIN, **SPAN, by="bookings", provider_id=provider.user_id)
            return outcomes.items, seats.items, ranking.items

        result: tuple[object, ...] = await report_events.read(read)
        return result

    await report_events.consume(*events)
    before = await reports()
    await report_events.forget_everything()
    await report_events.consume(*reversed(events))
    assert await reports() == before
    outcomes, seats, ranking = before
    assert len(outcomes) == 2  # type: ignore[arg-type]
    assert [(item.seats_sold, item.capacity) for item in seats] == [(2, 10)]  # type: ignore[attr-defined]
    assert [item.bookings for item in ranking] == [9, 2]  # type: ignore[attr-defined]
