"""Randomized runs of holds, releases, expiries, sales, cancellations and capacity changes on a
few slots (two of them sharing a day pool), with Redis losing everything now and then:
confirmed + held never exceeds capacity, and the counts stay exact."""

import asyncio
import random
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.infra import RedisProcess, free_port
from services.inventory.holds.consumers import booking_events_consumer
from services.inventory.holds.models import SeatHold
from services.inventory.holds.reconcile import reconcile_loaded_slots
from services.inventory.holds.seats import RedisSeats
from services.inventory.holds.service import live_holds
from services.inventory.schedules.models import DayPool, Slot
from services.inventory.tests.conftest import (
    Inventory,
    create_day_pool_listing,
    create_listing_with_slot,
    running_inventory,
)
from shared.app import connect_redis
from shared.contracts.booking import BookingPaymentReceived, BookingSeatsReleased
from shared.db import create_engine, create_session_factory
from shared.events.envelope import EventEnvelope
from shared.identity import Identity
from shared.testing import make_identity

CAPACITY = 5
ACTIONS = ("hold", "hold", "hold", "release", "sell", "sell", "cancel", "capacity", "time")


class SeatWorld:
    """Travelers, the payment saga and the provider acting on a few slots at random. Each
    action takes what it works on before its first await, so concurrent actions never share
    a hold."""

    def __init__(self, inventory: Inventory, provider: Identity, redis: Redis, rng: random.Random) -> None:
        self.inventory, self.provider, self.rng = inventory, provider, rng
        self.engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
        self.sessions = create_session_factory(self.engine)
        handlers = booking_events_consumer(seats=RedisSeats(redis), clock=inventory.clock).handlers
        self.sell = handlers[(BookingPaymentReceived.event_type, BookingPaymentReceived.event_version)]
        self.give_back = handlers[(BookingSeatsReleased.event_type, BookingSeatsReleased.event_version)]
        self.listing_of: dict[str, str] = {}
        self.pooled: set[str] = set()
        self.live: list[tuple[str, str, Identity, int]] = []  # (hold id, slot id, holder, seats)
        self.sold: list[tuple[uuid.UUID, str, str, int]] = []  # (booking id, hold id, slot id, seats)
        self.done: Counter[str] = Counter()

    async def add_slots(self, count: int) -> None:
        for _ in range(count):
            listing_id, slot_id = await create_listing_with_slot(
                self.inventory, self.provider, capacity=CAPACITY, hold_ttl_seconds=120
            )
            self.listing_of[slot_id] = listing_id

    async def add_day_pool(self) -> None:
        """Two slots selling from one pool of seats for their day."""
        listing_id, slot_ids = await create_day_pool_listing(
            self.inventory, self.provider, day_capacity=CAPACITY, hold_ttl_seconds=120
        )
        for slot_id in slot_ids:
            self.listing_of[slot_id] = listing_id
            self.pooled.add(slot_id)

    @property
    def slots(self) -> list[str]:
        return list(self.listing_of)

    async def act(self, action: str) -> None:
        client, rng = self.inventory.client, self.rng
        if action == "hold":
            holder, party, slot_id = make_identity("traveler"), rng.randint(1, 3), rng.choice(self.slots)
            answer = await client.post(
                "/holds", json={"slot_id": slot_id, "adults": party}, headers=self.inventory.as_(holder)
            )
            assert answer.status_code in (201, 409), answer.text
            if answer.status_code == 201:
                self.live.append((answer.json()["id"], slot_id, holder, party))
        elif action == "release" and self.live:
            hold_id, _, holder, _ = self.live.pop(rng.randrange(len(self.live)))
            assert (await client.delete(f"/holds/{hold_id}", headers=self.inventory.as_(holder))).status_code == 204
        elif action == "sell" and self.live:
            hold_id, slot_id, _, party = self.live.pop(rng.randrange(len(self.live)))
            paid = BookingPaymentReceived(
                booking_id=uuid.uuid4(), hold_id=uuid.UUID(hold_id), slot_id=uuid.UUID(slot_id), seats=party
            )
            async with self.sessions() as session, session.begin():
                await self.sell(session, EventEnvelope.wrap(paid, producer="booking", key=str(paid.booking_id)))
                confirmed = (await session.get_one(SeatHold, uuid.UUID(hold_id))).status == "confirmed"
            if confirmed:
                self.sold.append((paid.booking_id, hold_id, slot_id, party))
        elif action == "cancel" and self.sold:
            booking_id, hold_id, slot_id, party = self.sold.pop(rng.randrange(len(self.sold)))
            released = BookingSeatsReleased(
                booking_id=booking_id,
                hold_id=uuid.UUID(hold_id),
                slot_id=uuid.UUID(slot_id),
                seats=party,
                reason="cancelled",
            )
            # Delivered twice: the seats come back once.
            for _ in range(2):
                async with self.sessions() as session, session.begin():
                    await self.give_back(session, EventEnvelope.wrap(released, producer="booking", key=str(booking_id)))
        elif action == "capacity":
            slot_id = rng.choice(self.slots)
            day = (self.inventory.clock.now() + timedelta(days=1)).date()
            # A day pool's capacity is its day's; another slot has its own.
            where = f"days/{day.isoformat()}" if slot_id in self.pooled else f"slots/{slot_id}"
            answer = await client.patch(
                f"/listings/{self.listing_of[slot_id]}/{where}",
                json={"capacity": rng.randint(0, CAPACITY + 2)},
                headers=self.inventory.as_(self.provider),
            )
            assert answer.status_code in (200, 409), answer.text
        elif action == "time":
            self.inventory.clock.advance(timedelta(seconds=rng.choice([30, 60, 121])))
        else:
            return
        self.done[action] += 1

    async def assert_invariant(self) -> None:
        await _assert_invariant(self.inventory, self.sessions, self.slots)

    async def close(self) -> None:
        await self.engine.dispose()


@pytest.mark.parametrize("seed", [7, 42, 2031])
async def test_random_holds_releases_expiries_sales_cancellations_and_redis_losses_keep_the_invariant(
    inventory: Inventory, provider: Identity, redis_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    redis = Redis.from_url(redis_url)
    world = SeatWorld(inventory, provider, redis, rng)
    try:
        await world.add_slots(2)
        await world.add_day_pool()
        for _ in range(120):
            action = rng.choice((*ACTIONS, "redis_lost"))
            if action == "redis_lost":
                await redis.flushdb()
            else:
                await world.act(action)
            await world.assert_invariant()
        await reconcile_loaded_slots(world.sessions, seats=RedisSeats(redis), clock=inventory.clock)
        await world.assert_invariant()
        assert world.done["cancel"] > 0, "the run cancelled some sold bookings"
    finally:
        await world.close()
        await redis.aclose()


@pytest.mark.parametrize("seed", [3, 99, 5])
async def test_concurrent_rounds_keep_the_invariant_across_redis_restarts(
    database_url: str, bootstrap_servers: str, provider: Identity, seed: int
) -> None:
    """Twelve actions at a time on two slots; twice, redis-server is stopped and started again
    empty between rounds, and the next round runs on counts rebuilt from PostgreSQL."""
    rng = random.Random(seed)
    own_redis = RedisProcess(free_port())
    own_redis.start()
    try:
        async with running_inventory(database_url, own_redis.url, bootstrap_servers) as inventory:
            redis = connect_redis(own_redis.url, timeout_seconds=2)
            world = SeatWorld(inventory, provider, redis, rng)
            try:
                await world.add_slots(1)
                await world.add_day_pool()
                for round_number in range(10):
                    if round_number in (4, 7):
                        await asyncio.to_thread(own_redis.stop)
                        await asyncio.to_thread(own_redis.start)
                    await asyncio.gather(*(world.act(rng.choice(ACTIONS)) for _ in range(12)))
                    await world.assert_invariant()
                assert world.done["hold"] > 20
                assert world.done["sell"] > 0
            finally:
                await world.close()
                await redis.aclose()
    finally:
        own_redis.stop()


async def _assert_invariant(inventory: Inventory, sessions: async_sessionmaker[AsyncSession], slots: list[str]) -> None:
    """For every seat pool (a slot, or a day pool with its slots): confirmed + held never
    exceeds capacity, and each slot offers exactly what PostgreSQL leaves on its pool."""
    now = inventory.clock.now()
    day = (now + timedelta(days=1)).date().isoformat()
    async with sessions() as session:
        for slot_id in slots:
            slot = await session.get_one(Slot, uuid.UUID(slot_id))
            await session.refresh(slot)
            pool: Slot | DayPool = slot if slot.pool_id is None else await session.get_one(DayPool, slot.pool_id)
            await session.refresh(pool)
            held = sum(seats for _, seats, _ in await live_holds(session, pool, now=now))
            assert pool.confirmed_seats + held <= pool.capacity
            if isinstance(pool, DayPool):
                sold_on_slots = await session.scalar(
                    select(func.sum(Slot.confirmed_seats)).where(Slot.pool_id == pool.id)
                )
                assert sold_on_slots == pool.confirmed_seats, "a day pool counts what its slots sold"
            offered = (
                await inventory.client.get(f"/listings/{slot.listing_id}/availability", params={"date": day})
            ).json()["slots"]
            shown = next((offer["available"] for offer in offered if offer["slot_id"] == slot_id), 0)
            assert shown == pool.capacity - pool.confirmed_seats - held, "Redis counts exactly what PostgreSQL records"


async def test_reconciliation_repairs_counts_that_drifted(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    listing_id, slot_id = await create_listing_with_slot(inventory, provider, capacity=6)
    hold = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert hold.status_code == 201
    redis = Redis.from_url(redis_url)
    engine = create_engine(database_url=inventory.settings.database_url, schema="inventory")
    try:
        await redis.hset(f"slot:{{{slot_id}}}:seats", "confirmed", 3)
        await redis.zrem(f"slot:{{{slot_id}}}:holds", f"{hold.json()['id']}:2")
        day = (inventory.clock.now() + timedelta(days=1)).date().isoformat()
        drifted = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
        assert drifted["slots"][0]["available"] == 3
        fixed = await reconcile_loaded_slots(
            create_session_factory(engine), seats=RedisSeats(redis), clock=inventory.clock
        )
        assert fixed >= 1
        repaired = (await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()
        assert repaired["slots"][0]["available"] == 4
    finally:
        await redis.aclose()
        await engine.dispose()
