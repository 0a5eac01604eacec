"""Seat holds against the real database and Redis: never oversold, back on sale at expiry."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
from redis.asyncio import Redis
from sqlalchemy import select

from services.inventory.holds.models import SeatHold
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import live_holds
from services.inventory.schedules.models import Slot
from services.inventory.tests.conftest import Inventory, create_listing_with_slot
from shared.db import create_engine, create_session_factory
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


async def _available(inventory: Inventory, listing_id: str) -> int:
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
    response = await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": tomorrow})
    slots = response.json()["slots"]
    return int(slots[0]["available"]) if slots else 0


async def _hold(inventory: Inventory, traveler: Identity, slot_id: str, **party: int) -> httpx.Response:
    return await inventory.client.post(
        "/holds", json={"slot_id": slot_id, **(party or {"adults": 1})}, headers=inventory.as_(traveler)
    )


async def test_a_hold_takes_the_party_off_sale_with_a_priced_quote(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider)
    response = await _hold(inventory, traveler, slot_id, adults=2, children=1, infants=1)
    assert response.status_code == 201, response.text
    hold = response.json()
    assert hold["seats"] == 4
    quote = hold["quote"]
    assert [(line["kind"], line["quantity"], Decimal(line["amount"])) for line in quote["lines"]] == [
        ("adult", 2, Decimal("80.00")),
        ("child", 1, Decimal("28.00")),
        ("infant", 1, Decimal("0.00")),
    ]
    assert (Decimal(quote["subtotal"]), Decimal(quote["taxes"]), Decimal(quote["total"])) == (
        Decimal("108.00"),
        Decimal("10.80"),
        Decimal("118.80"),
    )
    assert quote["currency"] == "EUR"
    assert hold["expires_at"].startswith((inventory.clock.now() + timedelta(seconds=900)).isoformat()[:19])
    assert await _available(inventory, listing_id) == 6


async def test_three_hundred_concurrent_holds_on_ten_seats_sell_exactly_ten(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=10)
    travelers = [make_identity("traveler") for _ in range(300)]
    answers = await asyncio.gather(*(_hold(inventory, traveler, slot_id) for traveler in travelers))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 290
    assert {answer.json()["error_code"] for answer in answers if answer.status_code == 409} == {"SOLD_OUT"}
    assert await _available(inventory, listing_id) == 0


async def test_a_released_hold_puts_its_seats_back_and_releasing_again_changes_nothing(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=5)
    hold_id = (await _hold(inventory, traveler, slot_id, adults=3)).json()["id"]
    assert await _available(inventory, listing_id) == 2
    for _ in range(2):
        released = await inventory.client.delete(f"/holds/{hold_id}", headers=inventory.as_(traveler))
        assert released.status_code == 204
    assert await _available(inventory, listing_id) == 5
    read = await inventory.client.get(f"/holds/{hold_id}", headers=inventory.as_(traveler))
    assert read.json()["status"] == "released"


async def test_an_expired_hold_is_back_on_sale_at_once_and_recorded_with_an_event(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=4, hold_ttl_seconds=120)
    hold_id = (await _hold(inventory, traveler, slot_id, adults=4)).json()["id"]
    assert (await _hold(inventory, make_identity("traveler"), slot_id)).status_code == 409

    inventory.clock.advance(timedelta(seconds=119))
    assert await _available(inventory, listing_id) == 0
    inventory.clock.advance(timedelta(seconds=1))
    assert await _available(inventory, listing_id) == 4, "seats return at the expiry instant"
    assert (await _hold(inventory, make_identity("traveler"), slot_id)).status_code == 201

    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    sessions = create_session_factory(engine)
    try:
        async with asyncio.timeout(10):
            while True:
                async with sessions() as session:
                    hold = await session.get(SeatHold, hold_id)
                    assert hold is not None
                    if hold.status == "expired":
                        break
                await asyncio.sleep(0.1)
        async with sessions() as session:
            events = (await session.scalars(select(OutboxMessage.envelope).where(OutboxMessage.key == slot_id))).all()
    finally:
        await engine.dispose()
    types = [event["type"] for event in events]
    assert types.count("inventory.hold_placed") == 2
    assert types.count("inventory.hold_expired") == 1
    expired = next(event for event in events if event["type"] == "inventory.hold_expired")
    assert expired["payload"]["hold_id"] == hold_id


async def test_counts_are_rebuilt_from_postgresql_after_redis_loses_them(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6)
    assert (await _hold(inventory, traveler, slot_id, adults=4)).status_code == 201
    redis = Redis.from_url(redis_url)
    try:
        await redis.delete(f"slot:{{{slot_id}}}:seats", f"slot:{{{slot_id}}}:holds")
    finally:
        await redis.aclose()
    assert await _available(inventory, listing_id) == 2
    answers = await asyncio.gather(*(_hold(inventory, make_identity("traveler"), slot_id) for _ in range(5)))
    assert [answer.status_code for answer in answers].count(201) == 2


async def test_holds_are_the_holders_own(inventory: Inventory, provider: Identity, traveler: Identity) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider)
    hold_id = (await _hold(inventory, traveler, slot_id)).json()["id"]
    stranger = make_identity("traveler")
    assert (await inventory.client.get(f"/holds/{hold_id}", headers=inventory.as_(stranger))).status_code == 404
    assert (await inventory.client.delete(f"/holds/{hold_id}", headers=inventory.as_(stranger))).status_code == 404
    assert (await inventory.client.get(f"/holds/{hold_id}")).status_code == 401
    assert (await _hold(inventory, provider, slot_id)).status_code == 403


async def test_bad_hold_requests_are_refused_and_take_nothing(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=3)
    bad_bodies: list[dict[str, Any]] = [
        {"slot_id": slot_id, "adults": 0},
        {"slot_id": slot_id, "adults": -1},
        {"slot_id": slot_id, "adults": 0, "children": 2},
        {"slot_id": "not-a-uuid", "adults": 1},
        {"slot_id": slot_id, "adults": 1, "price": "0.01"},
    ]
    for body in bad_bodies:
        response = await inventory.client.post("/holds", json=body, headers=inventory.as_(traveler))
        assert response.status_code == 422, body
        assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert (await _hold(inventory, traveler, slot_id, adults=4)).json()["error_code"] == "SOLD_OUT"
    unknown = await _hold(inventory, traveler, "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert await _available(inventory, listing_id) == 3


async def test_a_hold_is_extended_by_its_ttl_up_to_the_bounded_maximum(
    inventory: Inventory, provider: Identity, traveler: Identity
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=2, hold_ttl_seconds=900)
    hold_id = (await _hold(inventory, traveler, slot_id, adults=2)).json()["id"]
    placed_at = inventory.clock.now()
    limit = placed_at + timedelta(seconds=3600)
    for _ in range(4):
        inventory.clock.advance(timedelta(seconds=800))
        extended = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(traveler))
        assert extended.status_code == 200, extended.text
        expected = min(inventory.clock.now() + timedelta(seconds=900), limit)
        assert datetime.fromisoformat(extended.json()["expires_at"]) == expected
    inventory.clock.advance(timedelta(seconds=100))
    at_limit = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(traveler))
    assert at_limit.status_code == 409
    assert at_limit.json()["error_code"] == "HOLD_EXTENSION_LIMIT"
    assert await _available(inventory, listing_id) == 0

    inventory.clock.advance(limit - inventory.clock.now())
    assert await _available(inventory, listing_id) == 2, "the seats come back at the bounded maximum"
    lapsed = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(traveler))
    assert lapsed.json()["error_code"] == "HOLD_EXPIRED"
    stranger = await inventory.client.post(f"/holds/{hold_id}/extend", headers=inventory.as_(make_identity("traveler")))
    assert stranger.status_code == 404


async def test_a_slots_seat_keys_leave_redis_a_day_after_it_ends(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider)
    hold = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert hold.status_code == 201
    slot = await inventory.client.get(f"/listings/{listing_id}/slots/{slot_id}", headers=inventory.as_(provider))
    ends_at = datetime.fromisoformat(slot.json()["ends_at"])
    redis = Redis.from_url(redis_url)
    try:
        expiries = [await redis.pexpiretime(f"slot:{{{slot_id}}}:{key}") for key in ("seats", "holds")]
    finally:
        await redis.aclose()
    assert expiries == [int((ends_at + timedelta(days=1)).timestamp() * 1000)] * 2


async def test_a_release_while_redis_lost_the_slot_is_not_undone_by_a_load_that_read_before_it(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    """A request that read the slot's holds from PostgreSQL just before a release committed,
    and loads them into Redis just after, must not bring the released hold back."""
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6)
    hold_id = (await _hold(inventory, traveler, slot_id, adults=2)).json()["id"]
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    redis = Redis.from_url(redis_url)
    seats = RedisSeats(redis)
    try:
        async with create_session_factory(engine)() as session:
            slot = await session.get_one(Slot, UUID(slot_id))
            read_before = await live_holds(session, slot, now=inventory.clock.now())
        assert [hold for hold, _, _ in read_before] == [UUID(hold_id)]
        await redis.delete(f"slot:{{{slot_id}}}:seats", f"slot:{{{slot_id}}}:holds")

        released = await inventory.client.delete(f"/holds/{hold_id}", headers=inventory.as_(traveler))
        assert released.status_code == 204
        await seats.load(
            UUID(slot_id),
            capacity=6,
            confirmed=0,
            holds=read_before,
            keep_until=inventory.clock.now() + timedelta(days=2),
        )
        assert await _available(inventory, listing_id) == 6
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_a_seat_script_run_twice_for_one_call_changes_the_counts_once(redis_url: str) -> None:
    """A client retries a command whose answer a dropped connection lost: the script runs again."""
    redis = Redis.from_url(redis_url)
    seats = RedisSeats(redis)
    slot_id, hold_id = uuid4(), uuid4()
    now = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
    try:
        await seats.load(slot_id, capacity=3, confirmed=0, holds=[], keep_until=now + timedelta(days=1))
        for _ in range(2):
            placed = await seats.reserve(
                slot_id, hold_id=hold_id, seats=2, now=now, expires_at=now + timedelta(minutes=15)
            )
            assert (placed.ok, placed.available) == (True, 1)
        for _ in range(2):
            sold = await seats.confirm(slot_id, hold_id=hold_id, seats=2, now=now)
            assert (sold.ok, sold.available, sold.late) == (True, 1, False)
        assert await redis.hget(f"slot:{{{slot_id}}}:seats", "confirmed") == b"2"
        for _ in range(2):
            await seats.unconfirm(slot_id, hold_id=hold_id, seats=2)
        assert await seats.available(slot_id, now=now) == 3
    finally:
        await seats.forget(slot_id)
        await redis.aclose()
