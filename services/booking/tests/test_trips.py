"""Trips against the real database: a traveler's trip and its items, only theirs to see and
change, refusing what does not fit without changing anything; checkout books the bookable items
through the mixed cart and lands each booking and request on its item; booking's own events
keep each item's status (once per event, whatever their order) and the trip's; an expert on the
trip's handoff proposes items the owner approves; a handoff's old itinerary moves onto a trip."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from alembic import command
from icalendar import Calendar
from sqlalchemy import select, text

from services.booking.bookings.models import Booking
from services.booking.carts.models import Cart
from services.booking.carts.schemas import CheckoutRequest
from services.booking.history.service import Origin
from services.booking.requests.models import BookingRequest
from services.booking.tests.conftest import BookingApp, answer, intent_for, upstream_pools
from services.booking.trips import service
from services.booking.trips.consumers import trips_consumer
from services.booking.trips.models import Trip, TripItem
from services.booking.trips.schemas import TripCheckoutOut, TripItemCreate, TripItemUpdate
from services.booking.upstreams.binding import Upstreams
from shared.contracts.booking import BookingCreated, BookingModified
from shared.contracts.inventory_api import (
    CancellationPolicy,
    HoldDetails,
    ListingSummary,
    Quote,
    SlotForRequest,
    SlotQuote,
)
from shared.contracts.payment_api import PaymentIntentRequest
from shared.errors import AppError
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.migrations import alembic_config, upgrade_to_head
from shared.testing import consumer_record, make_identity

MIGRATIONS = Path("services/booking/migrations")
# The trip's three days: the app's clock stands at 2031-05-04.
START = date(2031, 6, 1)
TRIP = {
    "title": "Lisbon long weekend",
    "destinations": ["Lisbon", "Sintra"],
    "start_date": "2031-06-01",
    "end_date": "2031-06-03",
    "travelers": 2,
    "experience_type": "culture",
    "timezone": "Europe/Lisbon",
}


async def _trip(app: BookingApp, owner: Identity, **fields: Any) -> dict[str, Any]:
    created = await app.client.post("/trips", json=TRIP | fields, headers=app.as_(owner))
    assert created.status_code == 201, created.text
    trip: dict[str, Any] = created.json()
    return trip


class Inventory:
    """Inventory as booking calls it: slots of instant and request listings, a partner's hotel,
    and holds placed on the instant slots."""

    def __init__(self, app: BookingApp) -> None:
        self.app = app
        self.provider_id = uuid.uuid4()
        self.slots: dict[UUID, SlotForRequest] = {}
        self.listings: dict[UUID, ListingSummary] = {}
        self.holds: dict[UUID, HoldDetails] = {}

    def slot(self, *, mode: str, day: int, total: str = "88.00", currency: str = "EUR") -> UUID:
        starts_at = datetime.combine(START + timedelta(days=day - 1), time(9), tzinfo=self.app.clock.now().tzinfo)
        slot = SlotForRequest(
            slot_id=uuid.uuid4(),
            listing_id=uuid.uuid4(),
            provider_id=self.provider_id,
            provider_email="provider@example.com",
            listing_title=f"{mode} listing",
            category="tour",
            booking_mode=mode,
            currency=currency,
            date=START + timedelta(days=day - 1),
            start_time="09:00",
            on_sale=True,
            available=10,
            price=SlotQuote(quote=_quote(total, currency), estimate=None),
            max_party_size=8,
            timezone="UTC",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
        )
        self.slots[slot.slot_id] = slot
        return slot.slot_id

    def listing(self, *, mode: str, category: str = "accommodation") -> UUID:
        listing = ListingSummary(
            id=uuid.uuid4(),
            provider_id=self.provider_id,
            title="Alfama hotel",
            category=category,
            city="Lisbon",
            currency="EUR",
            booking_mode=mode,
            max_party_size=8,
        )
        self.listings[listing.id] = listing
        return listing.id

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET" and parts[:2] == ["internal", "slots"]:
            return answer(200, self.slots[UUID(parts[2])])
        if request.method == "GET" and parts[0] == "listings":
            return answer(200, self.listings[UUID(parts[1])])
        if request.method == "POST" and parts == ["holds"]:
            placed = json.loads(request.content)
            slot = self.slots[UUID(placed["slot_id"])]
            hold = HoldDetails(
                id=uuid.uuid4(),
                status="active",
                provider_id=slot.provider_id,
                listing_id=slot.listing_id,
                slot_id=slot.slot_id,
                adults=placed["adults"],
                children=placed["children"],
                infants=placed["infants"],
                seats=placed["adults"] + placed["children"] + placed["infants"],
                quote=slot.price.quote or _quote("0.00", slot.currency),
                listing_title=slot.listing_title,
                category=slot.category,
                timezone=slot.timezone,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                expires_at=self.app.clock.now() + timedelta(minutes=15),
                cancellation_policy=CancellationPolicy(),
            )
            self.holds[hold.id] = hold
            return answer(201, hold)
        if request.method == "GET" and parts[0] == "holds":
            return answer(200, self.holds[UUID(parts[1])])
        raise AssertionError(f"unexpected call to inventory: {request.method} {request.url}")


def _quote(total: str, currency: str) -> Quote:
    return Quote(subtotal=Decimal(total), taxes=Decimal(0), total=Decimal(total), currency=currency, lines=[])


def _payment(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/internal/payment-intents", request.url
    return answer(201, intent_for(PaymentIntentRequest.model_validate_json(request.content)))


@asynccontextmanager
async def _upstreams_for(
    inventory: Callable[[httpx.Request], httpx.Response], who: Identity
) -> AsyncIterator[Upstreams]:
    async with upstream_pools(inventory=inventory, payment=_payment) as pools:
        yield pools.acting_for(who)


async def _add(app: BookingApp, upstreams: Upstreams, trip_id: str, who: Identity, **fields: Any) -> TripItem:
    async with app.sessions() as session:
        return await service.add_item(
            session,
            trip_id=UUID(trip_id),
            actor=who,
            request=TripItemCreate.model_validate(fields),
            upstreams=upstreams,
            clock=app.clock,
        )


async def _checkout(app: BookingApp, upstreams: Upstreams, trip_id: str, owner: Identity) -> TripCheckoutOut:
    async with app.sessions() as session:
        return await service.checkout(
            session,
            trip_id=UUID(trip_id),
            owner=owner,
            origin=Origin(),
            request=CheckoutRequest.model_validate({"contact": {"name": "Ana", "email": "ana@example.com"}}),
            upstreams=upstreams,
            partner_ids=app.settings.affiliate_partner_ids,
            deadlines=app.settings.request_deadlines(),
            max_open_requests=app.settings.max_open_requests_per_traveler,
            clock=app.clock,
        )


async def _read(app: BookingApp, trip_id: str, who: Identity) -> dict[str, Any]:
    read = await app.client.get(f"/trips/{trip_id}", headers=app.as_(who))
    assert read.status_code == 200, read.text
    trip: dict[str, Any] = read.json()
    return trip


async def _rows(app: BookingApp, trip_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The trip's and its items' columns, to prove a refused change changed nothing."""
    async with app.sessions() as session:
        trip = await session.get_one(Trip, UUID(trip_id))
        items = await service.items_of(session, trip.id)
        return (
            {column.key: getattr(trip, column.key) for column in Trip.__table__.columns},
            [{column.key: getattr(item, column.key) for column in TripItem.__table__.columns} for item in items],
        )


async def test_a_traveler_creates_lists_reads_changes_and_deletes_their_trip(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await _trip(booking_app, owner)
    assert (trip["status"], trip["timezone"], trip["items"], trip["handoff_ids"]) == (
        "draft",
        "Europe/Lisbon",
        [],
        [],
    )
    path = f"/trips/{trip['id']}"
    for day, order, title in ((2, 1, "Pastéis de Belém"), (1, 0, "Castle walk"), (2, 0, "Tram 28")):
        added = await booking_app.client.post(
            f"{path}/items",
            json={"day": day, "order": order, "type": "activity", "title": title, "price": "12.50", "currency": "EUR"},
            headers=booking_app.as_(owner),
        )
        assert added.status_code == 201, added.text
    shown = added.json()["items"]
    assert [(item["day"], item["date"], item["title"]) for item in shown] == [
        (1, "2031-06-01", "Castle walk"),
        (2, "2031-06-02", "Tram 28"),
        (2, "2031-06-02", "Pastéis de Belém"),
    ]
    assert {(item["booking_mode"], item["booking_status"], item["added_by"]) for item in shown} == {
        ("none", "unbooked", "traveler")
    }
    assert shown[0]["price"] == {"amount": "12.50", "currency": "EUR"}

    changed = await booking_app.client.patch(
        f"{path}/items/{shown[0]['id']}", json={"day": 3, "notes": "go early"}, headers=booking_app.as_(owner)
    )
    assert changed.status_code == 200, changed.text
    assert [(item["day"], item["notes"]) for item in changed.json()["items"]][-1] == (3, "go early")
    renamed = await booking_app.client.patch(
        path, json={"title": "Lisbon, slowly", "end_date": "2031-06-05"}, headers=booking_app.as_(owner)
    )
    assert (renamed.json()["title"], renamed.json()["end_date"]) == ("Lisbon, slowly", "2031-06-05")
    removed = await booking_app.client.delete(f"{path}/items/{shown[1]['id']}", headers=booking_app.as_(owner))
    assert removed.status_code == 204
    assert len((await _read(booking_app, trip["id"], owner))["items"]) == 2

    booking_app.clock.advance(timedelta(minutes=1))
    second = await _trip(booking_app, owner, title="Porto")
    listed = await booking_app.client.get("/trips", params={"limit": 1}, headers=booking_app.as_(owner))
    assert [item["id"] for item in listed.json()["items"]] == [second["id"]]
    rest = await booking_app.client.get(
        "/trips", params={"cursor": listed.json()["next_cursor"]}, headers=booking_app.as_(owner)
    )
    assert [item["id"] for item in rest.json()["items"]] == [trip["id"]]

    assert (await booking_app.client.delete(path, headers=booking_app.as_(owner))).status_code == 204
    assert (await booking_app.client.get(path, headers=booking_app.as_(owner))).status_code == 404
    mine = await booking_app.client.get("/trips", headers=booking_app.as_(owner))
    assert [item["id"] for item in mine.json()["items"]] == [second["id"]]
    async with booking_app.sessions() as session:
        kept = await session.get_one(Trip, UUID(trip["id"]))
    assert (kept.status, kept.deleted_at) == ("cancelled", booking_app.clock.now())


async def test_another_travelers_trip_is_not_found_and_nothing_of_it_changes(booking_app: BookingApp) -> None:
    owner, stranger, expert = make_identity("traveler"), make_identity("traveler"), make_identity("expert")
    trip = await _trip(booking_app, owner)
    path = f"/trips/{trip['id']}"
    item = (
        await booking_app.client.post(
            f"{path}/items", json={"day": 1, "type": "meal", "title": "Dinner"}, headers=booking_app.as_(owner)
        )
    ).json()["items"][0]
    before = await _rows(booking_app, trip["id"])

    for who in (stranger, expert):
        as_ = booking_app.as_(who)
        answers = [
            await booking_app.client.get(path, headers=as_),
            await booking_app.client.patch(path, json={"title": "mine now"}, headers=as_),
            await booking_app.client.delete(path, headers=as_),
            await booking_app.client.post(f"{path}/items", json={"day": 1, "type": "meal", "title": "x"}, headers=as_),
            await booking_app.client.patch(f"{path}/items/{item['id']}", json={"title": "x"}, headers=as_),
            await booking_app.client.delete(f"{path}/items/{item['id']}", headers=as_),
            await booking_app.client.post(
                f"{path}/checkout", json={"contact": {"name": "A", "email": "a@b.co"}}, headers=as_
            ),
        ]
        assert [(a.status_code, a.json()["error_code"]) for a in answers if a.status_code != 403] == [
            (404, "NOT_FOUND")
        ] * len([a for a in answers if a.status_code != 403]), who.roles
        listed = await booking_app.client.get("/trips", headers=booking_app.as_(stranger))
        assert listed.json()["items"] == []
    assert await _rows(booking_app, trip["id"]) == before


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"start_date": "2031-06-05", "end_date": "2031-06-01"}, "dates"),
        ({"start_date": "2031-06-01", "end_date": "2032-06-01"}, "too long"),
        ({"travelers": 0}, "travelers"),
        ({"title": "x" * 201}, "title"),
        ({"destinations": ["  "]}, "destination"),
        ({"owner_id": str(uuid.uuid4())}, "unknown field"),
    ],
)
async def test_a_trip_that_does_not_fit_is_refused(booking_app: BookingApp, body: dict[str, Any], where: str) -> None:
    owner = make_identity("traveler")
    refused = await booking_app.client.post("/trips", json=TRIP | body, headers=booking_app.as_(owner))
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), where
    assert (await booking_app.client.get("/trips", headers=booking_app.as_(owner))).json()["items"] == []


async def test_hostile_or_ill_fitting_changes_are_refused_and_change_nothing(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await _trip(booking_app, owner)
    path = f"/trips/{trip['id']}"
    as_owner = booking_app.as_(owner)
    item = (
        await booking_app.client.post(
            f"{path}/items", json={"day": 3, "type": "meal", "title": "Dinner"}, headers=as_owner
        )
    ).json()["items"][0]
    before = await _rows(booking_app, trip["id"])
    bad_items = [
        {"day": 4, "type": "meal", "title": "after the trip"},
        {"day": 0, "type": "meal", "title": "before it"},
        {"day": 1, "type": "spa", "title": "unknown type"},
        {"day": 1, "type": "meal", "title": "price alone", "price": "10.00"},
        {"day": 1, "type": "meal", "title": "too precise", "price": "10.001", "currency": "EUR"},
        {"day": 1, "type": "meal", "title": "yen cents", "price": "10.5", "currency": "JPY"},
        {"day": 1, "type": "meal", "title": "partner alone", "affiliate_partner": "booking_com"},
        {
            "day": 1,
            "type": "meal",
            "title": "bad partner",
            "affiliate_partner": "evil",
            "listing_id": str(uuid.uuid4()),
        },
        {"day": 1, "type": "meal", "title": "x", "booking_status": "confirmed"},
        {"day": 1, "type": "meal", "title": "x", "added_by": "expert"},
        {"day": 1, "type": "meal", "title": "x", "party": {"adults": 40, "children": 40}},
        {"day": 1, "type": "meal", "title": "<script>" * 40},
    ]
    for body in bad_items:
        refused = await booking_app.client.post(f"{path}/items", json=body, headers=as_owner)
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), body
    item_changes: list[dict[str, Any]] = [
        {"day": 5},
        {"day": None},
        {"price": "3.00"},
        {"booking_mode": "instant"},
        {"approved_at": "2031-01-01T00:00:00Z"},
    ]
    for body in item_changes:
        refused = await booking_app.client.patch(f"{path}/items/{item['id']}", json=body, headers=as_owner)
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), body
    trip_changes: list[dict[str, Any]] = [
        {"end_date": "2031-06-02"},
        {"start_date": "2031-06-04"},
        {"title": None},
        {"status": "confirmed"},
        {"status": None},
        {"traveler_id": str(uuid.uuid4())},
        {"timezone": "Not/AZone"},
    ]
    for body in trip_changes:
        refused = await booking_app.client.patch(path, json=body, headers=as_owner)
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), body
    missing = await booking_app.client.patch(f"{path}/items/{uuid.uuid4()}", json={"title": "x"}, headers=as_owner)
    assert missing.status_code == 404
    assert await _rows(booking_app, trip["id"]) == before


async def test_checkout_books_the_bookable_items_through_the_cart_and_lands_each_on_its_item(
    booking_app: BookingApp,
) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    tour, dinner = inventory.slot(mode="instant", day=1), inventory.slot(mode="request", day=2, total="120.00")
    hotel = inventory.listing(mode="external")
    async with _upstreams_for(inventory, owner) as upstreams:
        await _add(booking_app, upstreams, trip["id"], owner, day=1, type="activity", title="Tour", slot_id=str(tour))
        await _add(booking_app, upstreams, trip["id"], owner, day=2, type="meal", title="Dinner", slot_id=str(dinner))
        await _add(
            booking_app,
            upstreams,
            trip["id"],
            owner,
            day=1,
            order=1,
            type="accommodation",
            title="Hotel",
            listing_id=str(hotel),
            affiliate_partner="booking_com",
        )
        await _add(booking_app, upstreams, trip["id"], owner, day=3, type="other", title="Beach")
        with pytest.raises(AppError) as wrong_day:
            await _add(booking_app, upstreams, trip["id"], owner, day=3, type="meal", title="x", slot_id=str(dinner))
        assert wrong_day.value.error_code == "VALIDATION_ERROR"
        with pytest.raises(AppError) as not_a_partner:
            await _add(
                booking_app,
                upstreams,
                trip["id"],
                owner,
                day=1,
                type="other",
                title="x",
                listing_id=str(inventory.listing(mode="instant")),
                affiliate_partner="expedia",
            )
        assert not_a_partner.value.error_code == "WRONG_ITEM_KIND"
        planned = await _read(booking_app, trip["id"], owner)
        assert [(item["title"], item["booking_mode"], item["booking_status"]) for item in planned["items"]] == [
            ("Tour", "instant", "unbooked"),
            ("Hotel", "external", "external"),
            ("Dinner", "request", "unbooked"),
            ("Beach", "none", "unbooked"),
        ]

        checked_out = await _checkout(booking_app, upstreams, trip["id"], owner)
        again = await _checkout(booking_app, upstreams, trip["id"], owner)

    checkout = checked_out.checkout
    assert (len(checkout.bookings), len(checkout.requests), checkout.unavailable) == (1, 1, [])
    assert checkout.amount_due_now is not None
    assert checkout.amount_due_now.amount == Decimal("88.00")
    items = {item.title: item for item in checked_out.trip.items}
    assert items["Tour"].booking_id == checkout.bookings[0].booking.id
    assert items["Tour"].booking_status == "pending_payment"
    assert items["Dinner"].booking_request_id == checkout.requests[0].request.id
    assert items["Dinner"].booking_status == "requested"
    assert items["Hotel"].affiliate_links is not None
    assert [link["partner"] for link in items["Hotel"].affiliate_links] == ["booking_com"]
    assert items["Hotel"].affiliate_links[0]["url"].startswith("/api/v1/r/")
    assert (items["Beach"].booking_id, items["Beach"].booking_status) == (None, "unbooked")
    assert checked_out.trip.checkout_cart_id == checkout.cart_id
    assert again.checkout.cart_id == checkout.cart_id
    assert [booked.booking.id for booked in again.checkout.bookings] == [checkout.bookings[0].booking.id]
    async with booking_app.sessions() as session:
        bookings = (await session.scalars(select(Booking).where(Booking.traveler_id == owner.user_id))).all()
        carts = (await session.scalars(select(Cart).where(Cart.traveler_id == owner.user_id))).all()
    assert (len(bookings), len(carts)) == (1, 1), "checking out again books nothing twice"

    booked = f"/trips/{trip['id']}/items/{items['Tour'].id}"
    as_owner = booking_app.as_(owner)
    edited = await booking_app.client.patch(booked, json={"title": "x"}, headers=as_owner)
    deleted = await booking_app.client.delete(booked, headers=as_owner)
    assert [(r.status_code, r.json()["error_code"]) for r in (edited, deleted)] == [(409, "ITEM_BOOKED")] * 2


async def test_checkout_with_nothing_to_book_or_of_a_cancelled_trip_is_refused(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    trip = await _trip(booking_app, owner)
    path = f"/trips/{trip['id']}"
    as_owner = booking_app.as_(owner)
    contact = {"contact": {"name": "Ana", "email": "ana@example.com"}}
    await booking_app.client.post(f"{path}/items", json={"day": 1, "type": "other", "title": "Walk"}, headers=as_owner)
    empty = await booking_app.client.post(f"{path}/checkout", json=contact, headers=as_owner)
    assert (empty.status_code, empty.json()["error_code"]) == (409, "NOTHING_TO_BOOK")
    cancelled = await booking_app.client.patch(path, json={"status": "cancelled"}, headers=as_owner)
    assert cancelled.json()["status"] == "cancelled"
    assert [item["id"] for item in (await booking_app.client.get("/trips", headers=as_owner)).json()["items"]] == [
        trip["id"]
    ]
    for refused in (
        await booking_app.client.post(f"{path}/checkout", json=contact, headers=as_owner),
        await booking_app.client.post(
            f"{path}/items", json={"day": 1, "type": "other", "title": "x"}, headers=as_owner
        ),
        await booking_app.client.patch(path, json={"title": "x"}, headers=as_owner),
    ):
        assert (refused.status_code, refused.json()["error_code"]) == (409, "TRIP_CANCELLED")


async def _consume(app: BookingApp, bootstrap_servers: str, *envelopes: EventEnvelope) -> None:
    """Through the trips consumer as Kafka hands the messages over: the inbox in the way."""
    dead_letters = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await dead_letters.start()
    consumer = EventConsumer(
        spec=trips_consumer(app.clock),
        session_factory=app.sessions,
        bootstrap_servers=bootstrap_servers,
        dead_letter_producer=dead_letters,
        metrics=AppMetrics("test").consumer,
        max_attempts=1,
    )
    try:
        for offset, envelope in enumerate(envelopes):
            await consumer.handle_record(consumer_record(envelope, offset))
    finally:
        await dead_letters.stop()


async def _envelope(app: BookingApp, key: UUID, event_type: str) -> EventEnvelope:
    async with app.sessions() as session:
        stored = await session.scalar(
            select(OutboxMessage.envelope).where(OutboxMessage.key == str(key), OutboxMessage.event_type == event_type)
        )
    return EventEnvelope.model_validate(stored)


async def _item(app: BookingApp, item_id: UUID) -> TripItem:
    async with app.sessions() as session:
        return await session.get_one(TripItem, item_id)


async def test_items_follow_their_bookings_and_requests_once_per_event_in_any_order_and_the_trip_becomes_confirmed(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    async with _upstreams_for(inventory, owner) as upstreams:
        slot = inventory.slot(mode="instant", day=1)
        await _add(booking_app, upstreams, trip["id"], owner, day=1, type="activity", title="Tour", slot_id=str(slot))
        slot = inventory.slot(mode="request", day=2)
        await _add(booking_app, upstreams, trip["id"], owner, day=2, type="meal", title="Dinner", slot_id=str(slot))
        checked_out = await _checkout(booking_app, upstreams, trip["id"], owner)
    tour, dinner = (item for item in checked_out.trip.items)
    assert tour.booking_id is not None
    assert dinner.booking_request_id is not None
    created = await _envelope(booking_app, tour.booking_id, "booking.created")
    requested = await _envelope(booking_app, dinner.booking_request_id, "booking_request.created")

    # The saga confirmed the tour before its booking.created came through: the item shows what
    # the booking is now, and the same event again changes nothing more.
    async with booking_app.sessions() as session, session.begin():
        (await session.get_one(Booking, tour.booking_id)).status = "confirmed"
    booking_app.clock.advance(timedelta(minutes=5))
    await _consume(booking_app, bootstrap_servers, created)
    confirmed_at = booking_app.clock.now()
    assert (
        (await _item(booking_app, tour.id)).booking_status,
        (await _item(booking_app, tour.id)).status_changed_at,
    ) == (
        "confirmed",
        confirmed_at,
    )
    async with booking_app.sessions() as session, session.begin():
        (await session.get_one(Booking, tour.booking_id)).status = "cancelled"
    booking_app.clock.advance(timedelta(minutes=5))
    await _consume(booking_app, bootstrap_servers, created)
    assert (await _item(booking_app, tour.id)).booking_status == "confirmed", "a repeated event is applied once"
    async with booking_app.sessions() as session, session.begin():
        (await session.get_one(Booking, tour.booking_id)).status = "confirmed"
    assert (await _read(booking_app, trip["id"], owner))["status"] == "draft"

    # The provider accepted the dinner and the traveler paid before the request's events arrive.
    accepted_booking = await booking_app.add_booking(
        traveler=owner, provider=make_identity("provider"), starts_in=timedelta(days=29), status="pending_payment"
    )
    async with booking_app.sessions() as session, session.begin():
        request_row = await session.get_one(BookingRequest, dinner.booking_request_id)
        request_row.status, request_row.booking_id = "accepted", accepted_booking.id
    await _consume(booking_app, bootstrap_servers, requested)
    shown = await _item(booking_app, dinner.id)
    assert (shown.booking_status, shown.booking_id) == ("pending_payment", accepted_booking.id)
    async with booking_app.sessions() as session, session.begin():
        (await session.get_one(Booking, accepted_booking.id)).status = "confirmed"
    confirmed = EventEnvelope.wrap(
        _booking_created_like(created, accepted_booking.id), producer="booking", key=str(accepted_booking.id)
    )
    await _consume(booking_app, bootstrap_servers, confirmed)
    assert (await _item(booking_app, dinner.id)).booking_status == "confirmed"
    async with booking_app.sessions() as session:
        stored = await session.get_one(Trip, UUID(trip["id"]))
    assert stored.status == "confirmed"
    assert (await _read(booking_app, trip["id"], owner))["status"] == "confirmed"
    booking_app.clock.advance(timedelta(days=40))
    assert (await _read(booking_app, trip["id"], owner))["status"] == "completed"


async def test_a_booked_item_moves_with_its_booking_and_its_calendar_event_with_it(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    async with _upstreams_for(inventory, owner) as upstreams:
        slot = inventory.slot(mode="instant", day=1)
        await _add(booking_app, upstreams, trip["id"], owner, day=1, type="activity", title="Tour", slot_id=str(slot))
        checked_out = await _checkout(booking_app, upstreams, trip["id"], owner)
    (tour,) = checked_out.trip.items
    assert tour.booking_id is not None
    feed = (await booking_app.client.get(f"/trips/{trip['id']}/calendar", headers=booking_app.as_(owner))).json()
    feed_path = feed["url"].removeprefix(booking_app.settings.public_api_url)

    # The traveler moved the tour to the next afternoon (a modification): booking's row says so
    # and booking.modified follows.
    new_slot = uuid.uuid4()
    lisbon = ZoneInfo("Europe/Lisbon")
    starts_at = datetime(2031, 6, 2, 15, 0, tzinfo=lisbon)
    async with booking_app.sessions() as session, session.begin():
        booking = await session.get_one(Booking, tour.booking_id)
        old_slot = booking.slot_id
        booking.slot_id, booking.starts_at, booking.ends_at = new_slot, starts_at, starts_at + timedelta(hours=2)
        modified = BookingModified(
            booking_id=booking.id,
            modification_id=uuid.uuid4(),
            reference=booking.reference,
            traveler_id=booking.traveler_id,
            provider_id=booking.provider_id,
            listing_id=booking.listing_id,
            listing_title=booking.listing_title,
            old_slot_id=old_slot,
            slot_id=new_slot,
            starts_at=starts_at.astimezone(UTC),
            ends_at=(starts_at + timedelta(hours=2)).astimezone(UTC),
            timezone="Europe/Lisbon",
            seats=booking.seats,
            total=booking.total,
            difference=Decimal("0"),
            currency=booking.currency,
            contact_name="Ana",
            contact_email="ana@example.com",
            modified_at=booking_app.clock.now(),
            calendar_sequence=1,
        )
    booking_app.clock.advance(timedelta(minutes=5))
    envelope = EventEnvelope.wrap(modified, producer="booking", key=str(booking.id))
    await _consume(booking_app, bootstrap_servers, envelope)

    moved = await _item(booking_app, tour.id)
    assert (moved.slot_id, moved.day, moved.start_time, moved.duration_minutes) == (new_slot, 2, time(15, 0), 120)
    assert moved.updated_at == booking_app.clock.now()
    answer = await booking_app.client.get(feed_path)
    assert answer.status_code == 200, answer.text
    (event,) = Calendar.from_ical(answer.content).events
    assert event.start == starts_at
    assert event.end == starts_at + timedelta(hours=2)


def _booking_created_like(envelope: EventEnvelope, booking_id: UUID) -> BookingCreated:
    return BookingCreated.model_validate(envelope.payload | {"booking_id": str(booking_id)})


async def test_an_expert_on_the_trips_handoff_proposes_items_the_owner_approves_and_checkout_then_books(
    booking_app: BookingApp,
) -> None:
    owner, expert, other_expert = make_identity("traveler"), make_identity("expert"), make_identity("expert")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    handed = await booking_app.client.post(
        "/expert-handoffs",
        json={"expert_id": str(expert.user_id), "description": "Plan our second day", "trip_id": trip["id"]},
        headers=booking_app.as_(owner),
    )
    assert handed.status_code == 201, handed.text
    assert handed.json()["trip_id"] == trip["id"]
    handoff = f"/expert-handoffs/{handed.json()['id']}"
    slot = inventory.slot(mode="instant", day=2)
    async with _upstreams_for(inventory, expert) as upstreams:
        with pytest.raises(AppError) as before_accepting:
            await _add(booking_app, upstreams, trip["id"], expert, day=2, type="activity", title="x")
        assert before_accepting.value.status_code == 404
        accepted = await booking_app.client.post(f"{handoff}/accept", headers=booking_app.as_(expert))
        assert accepted.json()["trip_id"] == trip["id"], "a handoff with a trip plans that trip"
        item = await _add(
            booking_app,
            upstreams,
            trip["id"],
            expert,
            day=2,
            type="activity",
            title="Sintra palaces",
            slot_id=str(slot),
        )
        with pytest.raises(AppError) as stranger:
            await _add(booking_app, upstreams, trip["id"], other_expert, day=2, type="activity", title="x")
        assert stranger.value.status_code == 404
    seen_by_expert = await _read(booking_app, trip["id"], expert)
    [proposed] = seen_by_expert["items"]
    assert (proposed["added_by"], proposed["expert_id"], proposed["handoff_id"], proposed["awaiting_approval"]) == (
        "expert",
        str(expert.user_id),
        handed.json()["id"],
        True,
    )
    assert (proposed["booking_mode"], seen_by_expert["status"]) == ("instant", "expert_review")
    contact = {"contact": {"name": "Ana", "email": "ana@example.com"}}
    not_yet = await booking_app.client.post(
        f"/trips/{trip['id']}/checkout", json=contact, headers=booking_app.as_(owner)
    )
    assert (not_yet.status_code, not_yet.json()["error_code"]) == (409, "NOTHING_TO_BOOK")

    await booking_app.client.post(f"{handoff}/complete", headers=booking_app.as_(expert))
    late = await booking_app.client.patch(
        f"/trips/{trip['id']}/items/{item.id}", json={"title": "x"}, headers=booking_app.as_(expert)
    )
    assert (late.status_code, late.json()["error_code"]) == (409, "HANDOFF_NOT_EDITABLE")
    approved = await booking_app.client.post(f"{handoff}/approve", headers=booking_app.as_(owner))
    assert approved.status_code == 200, approved.text
    reviewed = await _read(booking_app, trip["id"], owner)
    assert (reviewed["items"][0]["awaiting_approval"], reviewed["status"]) == (False, "draft")
    async with _upstreams_for(inventory, owner) as upstreams:
        checked_out = await _checkout(booking_app, upstreams, trip["id"], owner)
    assert [booked.booking.listing_title for booked in checked_out.checkout.bookings] == ["instant listing"]
    assert checked_out.trip.items[0].booking_status == "pending_payment"


async def test_a_cancelled_handoff_takes_the_experts_unapproved_items_with_it(booking_app: BookingApp) -> None:
    owner, expert = make_identity("traveler"), make_identity("expert")
    trip = await _trip(booking_app, owner)
    own = await booking_app.client.post(
        f"/trips/{trip['id']}/items", json={"day": 1, "type": "other", "title": "Mine"}, headers=booking_app.as_(owner)
    )
    assert own.status_code == 201
    handed = await booking_app.client.post(
        "/expert-handoffs",
        json={"expert_id": str(expert.user_id), "description": "Fill day two", "trip_id": trip["id"]},
        headers=booking_app.as_(owner),
    )
    handoff = f"/expert-handoffs/{handed.json()['id']}"
    await booking_app.client.post(f"{handoff}/accept", headers=booking_app.as_(expert))
    proposed = await booking_app.client.post(
        f"/trips/{trip['id']}/items",
        json={"day": 2, "type": "meal", "title": "Theirs"},
        headers=booking_app.as_(expert),
    )
    assert proposed.json()["status"] == "expert_review"
    await booking_app.client.post(f"{handoff}/cancel", headers=booking_app.as_(owner))
    after = await _read(booking_app, trip["id"], owner)
    assert ([item["title"] for item in after["items"]], after["status"]) == (["Mine"], "draft")
    assert (await booking_app.client.get(f"/trips/{trip['id']}", headers=booking_app.as_(expert))).status_code == 404


async def test_trip_item_updates_by_the_owner_relink_the_item(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    slot = inventory.slot(mode="request", day=3)
    async with _upstreams_for(inventory, owner) as upstreams:
        item = await _add(booking_app, upstreams, trip["id"], owner, day=3, type="meal", title="Dinner")
        async with booking_app.sessions() as session:
            relinked = await service.update_item(
                session,
                trip_id=UUID(trip["id"]),
                item_id=item.id,
                actor=owner,
                request=TripItemUpdate.model_validate({"slot_id": str(slot), "party": {"adults": 3}}),
                upstreams=upstreams,
                clock=booking_app.clock,
            )
    assert (relinked.booking_mode, relinked.listing_id, relinked.party) == (
        "request",
        inventory.slots[slot].listing_id,
        {"adults": 3, "children": 0, "infants": 0},
    )


def _downgrade_to_trips(database_url: str) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["database_url"] = database_url
    command.downgrade(config, "0020")


async def test_a_handoffs_itinerary_moves_onto_a_trip_of_its_own_on_upgrade(
    booking_app: BookingApp, database_url: str
) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    await asyncio.to_thread(_downgrade_to_trips, database_url)
    handoff_id, empty_id, listing_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    itinerary = [
        {"title": "Tram 28", "date": "2031-06-02", "start_time": "10:00:00", "listing_id": None, "notes": None},
        {"title": "Kayak", "date": "2031-06-04", "start_time": None, "listing_id": str(listing_id), "notes": "vests"},
        {"title": "Read a book", "date": None, "start_time": None, "listing_id": None, "notes": None},
    ]
    async with booking_app.sessions() as session, session.begin():
        for row_id, entries in ((handoff_id, itinerary), (empty_id, [])):
            await session.execute(
                text(
                    "INSERT INTO expert_handoff (id, traveler_id, traveler_email, expert_id, description, start_date,"
                    " end_date, itinerary, status, requested_at, accepted_at, itinerary_updated_at)"
                    " VALUES (:id, :traveler, :email, :expert, :description, :start, :end, CAST(:itinerary AS jsonb),"
                    " 'accepted', :at, :at, :at)"
                ),
                {
                    "id": row_id,
                    "traveler": traveler.user_id,
                    "email": traveler.email,
                    "expert": expert.user_id,
                    "description": "Four days in Lisbon\nwith the kids",
                    "start": date(2031, 6, 1),
                    "end": date(2031, 6, 3),
                    "itinerary": json.dumps(entries),
                    "at": booking_app.clock.now(),
                },
            )
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url=database_url)

    handoff = (await booking_app.client.get(f"/expert-handoffs/{handoff_id}", headers=booking_app.as_(traveler))).json()
    empty = (await booking_app.client.get(f"/expert-handoffs/{empty_id}", headers=booking_app.as_(traveler))).json()
    assert empty["trip_id"] is None
    trip = await _read(booking_app, handoff["trip_id"], traveler)
    assert (trip["title"], trip["start_date"], trip["end_date"], trip["status"]) == (
        "Four days in Lisbon",
        "2031-06-01",
        "2031-06-04",
        "expert_review",
    )
    assert [
        (item["day"], item["title"], item["start_time"], item["listing_id"], item["notes"], item["added_by"])
        for item in trip["items"]
    ] == [
        (1, "Read a book", None, None, None, "expert"),
        (2, "Tram 28", "10:00:00", None, None, "expert"),
        (4, "Kayak", None, str(listing_id), "vests", "expert"),
    ]
    assert {(item["awaiting_approval"], item["handoff_id"]) for item in trip["items"]} == {(True, str(handoff_id))}


async def test_a_booking_made_by_a_checkout_that_died_before_landing_it_finds_its_item_from_its_event(
    booking_app: BookingApp, bootstrap_servers: str
) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    async with _upstreams_for(inventory, owner) as upstreams:
        slot = inventory.slot(mode="instant", day=1)
        await _add(booking_app, upstreams, trip["id"], owner, day=1, type="activity", title="Tour", slot_id=str(slot))
        slot = inventory.slot(mode="request", day=2)
        await _add(booking_app, upstreams, trip["id"], owner, day=2, type="meal", title="Dinner", slot_id=str(slot))
        checked_out = await _checkout(booking_app, upstreams, trip["id"], owner)
    tour, dinner = checked_out.trip.items
    assert tour.booking_id is not None
    assert dinner.booking_request_id is not None
    async with booking_app.sessions() as session, session.begin():
        for item_id in (tour.id, dinner.id):
            item = await session.get_one(TripItem, item_id)
            item.booking_id, item.booking_request_id, item.booking_status = None, None, "unbooked"

    await _consume(
        booking_app,
        bootstrap_servers,
        await _envelope(booking_app, tour.booking_id, "booking.created"),
        await _envelope(booking_app, dinner.booking_request_id, "booking_request.created"),
    )
    found_tour, found_dinner = await _item(booking_app, tour.id), await _item(booking_app, dinner.id)
    assert (found_tour.booking_id, found_tour.booking_status) == (tour.booking_id, "pending_payment")
    assert (found_dinner.booking_request_id, found_dinner.booking_status) == (dinner.booking_request_id, "requested")


async def test_two_checkouts_of_one_trip_at_once_book_each_item_once(booking_app: BookingApp) -> None:
    owner = make_identity("traveler")
    inventory = Inventory(booking_app)
    trip = await _trip(booking_app, owner)
    async with _upstreams_for(inventory, owner) as upstreams:
        for day in (1, 2):
            slot = inventory.slot(mode="instant", day=day)
            await _add(
                booking_app, upstreams, trip["id"], owner, day=day, type="activity", title="Tour", slot_id=str(slot)
            )
        answers = await asyncio.gather(
            *(_checkout(booking_app, upstreams, trip["id"], owner) for _ in range(2)), return_exceptions=True
        )
    done = [answer for answer in answers if isinstance(answer, TripCheckoutOut)]
    refused = [answer for answer in answers if isinstance(answer, AppError)]
    assert len(done) + len(refused) == 2, answers
    assert [error.error_code for error in refused] in ([], ["CHECKOUT_IN_PROGRESS"])
    assert done
    async with booking_app.sessions() as session:
        bookings = (await session.scalars(select(Booking.id).where(Booking.traveler_id == owner.user_id))).all()
        carts = (await session.scalars(select(Cart.id).where(Cart.traveler_id == owner.user_id))).all()
        items = await service.items_of(session, UUID(trip["id"]))
    assert (len(bookings), len(carts)) == (2, 1)
    assert {item.booking_id for item in items} == set(bookings)
