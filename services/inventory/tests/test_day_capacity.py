"""Listings whose capacity is per day: every slot of a date sells from one pool of seats,
whose capacity changes but never below the seats confirmed and held."""

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from services.inventory.feed.publisher import channel
from services.inventory.holds.consumers import booking_events_consumer
from services.inventory.holds.seats import RedisSeats
from services.inventory.tests.conftest import LISTING, Inventory, create_day_pool_listing
from shared.contracts.booking import BookingPaymentReceived, BookingSeatsReleased
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


def _tomorrow(inventory: Inventory) -> str:
    return (inventory.clock.now() + timedelta(days=1)).date().isoformat()


async def _available(inventory: Inventory, listing_id: str) -> dict[str, int]:
    answer = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": _tomorrow(inventory)})
    assert answer.status_code == 200, answer.text
    return {slot["slot_id"]: slot["available"] for slot in answer.json()["slots"]}


async def _hold(inventory: Inventory, slot_id: str, adults: int) -> Any:
    return await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": adults}, headers=inventory.as_(make_identity("traveler"))
    )


async def _found_for(inventory: Inventory, provider: Identity, *, party_size: int) -> list[str]:
    answer = await inventory.client.get(
        "/listings",
        params={"provider_id": str(provider.user_id), "date": _tomorrow(inventory), "party_size": party_size},
    )
    assert answer.status_code == 200, answer.text
    return [listing["id"] for listing in answer.json()["items"]]


async def test_the_slots_of_a_day_sell_from_one_pool(inventory: Inventory, provider: Identity, redis_url: str) -> None:
    listing_id, (morning, afternoon) = await create_day_pool_listing(inventory, provider, day_capacity=5)
    assert await _available(inventory, listing_id) == {morning: 5, afternoon: 5}

    redis = Redis.from_url(redis_url)
    feed = redis.pubsub()
    try:
        await feed.subscribe(channel(listing_id))
        first = await _hold(inventory, morning, 3)
        assert first.status_code == 201, first.text
        # The feed tells of both slots: what the morning took, the afternoon has lost too.
        announced: dict[str, tuple[int, int]] = {}
        async with asyncio.timeout(5):
            while len(announced) < 2:
                message = await feed.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    change = json.loads(message["data"])
                    announced[change["slot_id"]] = (change["available"], change["seats"])
        assert announced == {morning: (2, 3), afternoon: (2, 0)}
    finally:
        await feed.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
    assert await _available(inventory, listing_id) == {morning: 2, afternoon: 2}

    too_many = await _hold(inventory, afternoon, 3)
    assert too_many.status_code == 409
    assert (too_many.json()["error_code"], too_many.json()["details"]["available"]) == ("SOLD_OUT", 2)
    assert (await _hold(inventory, afternoon, 2)).status_code == 201

    month = inventory.clock.now() + timedelta(days=1)
    calendar = await inventory.client.get(
        f"/listings/{listing_id}/calendar", params={"year": month.year, "month": month.month}
    )
    day = next(day for day in calendar.json()["days"] if day["date"] == _tomorrow(inventory))
    assert (day["slots"], day["available_seats"], day["has_availability"]) == (2, 0, False)

    released = await inventory.client.delete(
        f"/holds/{first.json()['id']}", headers=inventory.as_(make_identity("admin"))
    )
    assert released.status_code == 204
    assert await _available(inventory, listing_id) == {morning: 3, afternoon: 3}
    pool = await inventory.client.get(
        f"/listings/{listing_id}/days/{_tomorrow(inventory)}", headers=inventory.as_(provider)
    )
    assert pool.json() == {
        "date": _tomorrow(inventory),
        "capacity": 5,
        "confirmed_seats": 0,
        "available": 3,
        "slots": 2,
    }


async def test_concurrent_holds_across_a_days_slots_sell_exactly_its_capacity_even_after_redis_loses_it(
    inventory: Inventory, provider: Identity, redis_url: str
) -> None:
    listing_id, slots = await create_day_pool_listing(
        inventory, provider, day_capacity=10, times=("09:00", "12:00", "18:00")
    )
    answers = await asyncio.gather(*(_hold(inventory, slots[number % 3], 1) for number in range(60)))
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 10, 409: 50}

    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    # Rebuilt from the durable holds of all three slots: still nothing left, so no slot is offered.
    assert await _available(inventory, listing_id) == {}
    assert (await _hold(inventory, slots[0], 1)).status_code == 409


async def test_seats_sold_and_given_back_count_on_the_day(
    inventory: Inventory, provider: Identity, redis_url: str
) -> None:
    listing_id, (morning, afternoon) = await create_day_pool_listing(inventory, provider, day_capacity=6)
    redis = Redis.from_url(redis_url)
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    sessions = create_session_factory(engine)
    handlers = booking_events_consumer(seats=RedisSeats(redis), clock=inventory.clock).handlers
    try:
        sold = []
        for slot_id, party in ((morning, 2), (afternoon, 3)):
            hold = await _hold(inventory, slot_id, party)
            paid = BookingPaymentReceived(
                booking_id=uuid.uuid4(), hold_id=uuid.UUID(hold.json()["id"]), slot_id=uuid.UUID(slot_id), seats=party
            )
            async with sessions() as session, session.begin():
                await handlers[(paid.event_type, paid.event_version)](
                    session, EventEnvelope.wrap(paid, producer="booking", key="b")
                )
            sold.append(paid)
        day = await inventory.client.get(
            f"/listings/{listing_id}/days/{_tomorrow(inventory)}", headers=inventory.as_(provider)
        )
        assert (day.json()["confirmed_seats"], day.json()["available"]) == (5, 1)
        # Search by date and party size asks the day, not each slot (which sold only 2 or 3).
        assert await _found_for(inventory, provider, party_size=1) == [listing_id]
        assert await _found_for(inventory, provider, party_size=2) == []

        # Redis forgets; the rebuilt pool counts the day's confirmed seats.
        await redis.flushdb()
        assert await _available(inventory, listing_id) == {morning: 1, afternoon: 1}

        returned = BookingSeatsReleased(
            booking_id=sold[1].booking_id, hold_id=sold[1].hold_id, slot_id=sold[1].slot_id, seats=3, reason="cancelled"
        )
        for _ in range(2):  # delivered twice, returned once
            async with sessions() as session, session.begin():
                await handlers[(returned.event_type, returned.event_version)](
                    session, EventEnvelope.wrap(returned, producer="booking", key="b")
                )
        assert await _available(inventory, listing_id) == {morning: 4, afternoon: 4}
        day = await inventory.client.get(
            f"/listings/{listing_id}/days/{_tomorrow(inventory)}", headers=inventory.as_(provider)
        )
        assert (day.json()["confirmed_seats"], day.json()["available"]) == (2, 4)

        # Each sale and return says what analytics' occupancy reads: the slot's start and date,
        # and the day's capacity, which the date's slots share.
        async with sessions() as session:
            announced = (
                await session.scalars(
                    select(OutboxMessage.envelope)
                    .where(OutboxMessage.event_type.in_(["inventory.seats_confirmed", "inventory.seats_returned"]))
                    .where(OutboxMessage.key.in_([morning, afternoon]))
                    .order_by(OutboxMessage.id)
                )
            ).all()
        assert [
            (envelope["type"], envelope["payload"]["seats"], envelope["payload"]["capacity"]) for envelope in announced
        ] == [
            ("inventory.seats_confirmed", 2, 6),
            ("inventory.seats_confirmed", 3, 6),
            ("inventory.seats_returned", 3, 6),
        ]
        assert all(envelope["payload"]["capacity_per_day"] is True for envelope in announced)
        assert {envelope["payload"]["local_date"] for envelope in announced} == {_tomorrow(inventory)}
        assert all(envelope["payload"]["starts_at"] for envelope in announced)
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_a_days_capacity_changes_but_never_below_what_is_taken(inventory: Inventory, provider: Identity) -> None:
    listing_id, (morning, afternoon) = await create_day_pool_listing(inventory, provider, day_capacity=5)
    day_path = f"/listings/{listing_id}/days/{_tomorrow(inventory)}"
    owner = inventory.as_(provider)
    assert (await _hold(inventory, morning, 3)).status_code == 201

    refused = await inventory.client.patch(day_path, json={"capacity": 2}, headers=owner)
    assert refused.status_code == 409
    assert refused.json()["error_code"] == "CAPACITY_BELOW_TAKEN"
    assert refused.json()["details"] == {"date": _tomorrow(inventory), "requested": 2, "taken": 3}
    assert await _available(inventory, listing_id) == {morning: 2, afternoon: 2}

    lowered = await inventory.client.patch(day_path, json={"capacity": 3}, headers=owner)
    assert (lowered.status_code, lowered.json()["available"]) == (200, 0)
    raised = await inventory.client.patch(day_path, json={"capacity": 8}, headers=owner)
    assert (raised.json()["capacity"], raised.json()["available"]) == (8, 5)
    assert await _available(inventory, listing_id) == {morning: 5, afternoon: 5}

    # One slot's capacity is its day's.
    per_slot = await inventory.client.patch(
        f"/listings/{listing_id}/slots/{afternoon}", json={"capacity": 2}, headers=owner
    )
    assert (per_slot.status_code, per_slot.json()["error_code"]) == (409, "CAPACITY_PER_DAY")

    # The listing's day capacity reaches every future day, but a day keeps the seats it has taken.
    listing_wide = await inventory.client.patch(f"/listings/{listing_id}", json={"day_capacity": 1}, headers=owner)
    assert (listing_wide.status_code, listing_wide.json()["day_capacity"]) == (200, 1)
    kept = (await inventory.client.get(day_path, headers=owner)).json()
    assert (kept["capacity"], kept["available"]) == (3, 0)

    # Someone else's listing, or a day without slots, is not there.
    stranger = inventory.as_(make_identity("provider"))
    assert (await inventory.client.patch(day_path, json={"capacity": 9}, headers=stranger)).status_code == 404
    no_slots = f"/listings/{listing_id}/days/{(inventory.clock.now() + timedelta(days=9)).date().isoformat()}"
    assert (await inventory.client.get(no_slots, headers=owner)).status_code == 404


async def test_capacity_per_day_is_refused_where_it_does_not_fit(inventory: Inventory, provider: Identity) -> None:
    owner = inventory.as_(provider)
    for wrong in (
        {"capacity_per": "day"},
        {"capacity_per": "day", "day_capacity": 5, "availability_mode": "calendar"},
        {"day_capacity": 5},
        {"capacity_per": "week", "day_capacity": 5},
        {"capacity_per": "day", "day_capacity": 0},
    ):
        answer = await inventory.client.post("/listings", json=LISTING | wrong, headers=owner)
        assert answer.status_code == 422, wrong
        assert answer.json()["error_code"] == "VALIDATION_ERROR"

    listing_id, _ = await create_day_pool_listing(inventory, provider, day_capacity=5)
    tomorrow = _tomorrow(inventory)
    with_capacity = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={"start_time": "20:00", "duration_minutes": 60, "capacity": 4, "valid_from": tomorrow},
        headers=owner,
    )
    assert (with_capacity.status_code, with_capacity.json()["error_code"]) == (422, "VALIDATION_ERROR")
    fixed = await inventory.client.patch(f"/listings/{listing_id}", json={"capacity_per": "slot"}, headers=owner)
    assert fixed.status_code == 422
    leaving_inventory = await inventory.client.patch(
        f"/listings/{listing_id}", json={"availability_mode": "toggle"}, headers=owner
    )
    assert leaving_inventory.status_code == 422

    per_slot = await inventory.client.post("/listings", json=LISTING, headers=owner)
    without_capacity = await inventory.client.post(
        f"/listings/{per_slot.json()['id']}/schedules",
        json={"start_time": "20:00", "duration_minutes": 60, "valid_from": tomorrow},
        headers=owner,
    )
    assert without_capacity.status_code == 422
    # Nothing refused was made: the day still has its two slots of five seats.
    assert list((await _available(inventory, listing_id)).values()) == [5, 5]
