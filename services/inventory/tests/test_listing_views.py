"""Listing views: a read of a listing's page through the gateway is counted in Redis per
listing and UTC hour, never per view in the database; a flush sends one
`inventory.listing_views_counted` per listing and hour, a batch sent again after a crash goes
out under the same event ids (so it is not counted twice), and a Redis outage loses views
but never fails the read."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.inventory.tests.conftest import LISTING, Inventory
from services.inventory.views.domain import BATCH_PREFIX, CURRENT_KEY, counter_field, views_event_id
from services.inventory.views.service import flush_view_counts
from shared.app import connect_redis
from shared.events.models import OutboxMessage
from shared.identity import Identity

THROUGH_THE_GATEWAY = {"x-forwarded-for": "203.0.113.7"}


async def _listing(inventory: Inventory, provider: Identity) -> str:
    created = await inventory.client.post("/listings", json=LISTING, headers=inventory.as_(provider))
    assert created.status_code == 201, created.text
    listing_id: str = created.json()["id"]
    return listing_id


async def _views(inventory: Inventory, listing_id: str, times: int) -> None:
    for _ in range(times):
        read = await inventory.client.get(f"/listings/{listing_id}", headers=THROUGH_THE_GATEWAY)
        assert read.status_code == 200, read.text


async def _announced(inventory: Inventory, *listing_ids: str) -> list[dict[str, Any]]:
    """The view counts inventory's outbox holds for the listings, in the order written."""
    async with inventory.app.state.resources.session_factory() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.event_type == "inventory.listing_views_counted",
                OutboxMessage.key.in_(listing_ids),
            )
            .order_by(OutboxMessage.id)
        )
        return [row.envelope for row in rows]


def _sums(envelopes: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = {}
    for envelope in envelopes:
        payload = envelope["payload"]
        key = (payload["listing_id"], datetime.fromisoformat(payload["hour_start"]).isoformat())
        sums[key] = sums.get(key, 0) + payload["views"]
    return sums


async def _flush(inventory: Inventory) -> int:
    resources = inventory.app.state.resources
    return await flush_view_counts(resources.session_factory, resources.redis)


async def test_views_are_counted_per_listing_and_hour_and_sent_as_one_event_each(
    inventory: Inventory, provider: Identity
) -> None:
    busy, quiet = await _listing(inventory, provider), await _listing(inventory, provider)
    nine = inventory.clock.now().replace(minute=0)
    await _views(inventory, busy, 3)
    await _views(inventory, quiet, 1)
    # Another service reading the listing (booking, payment) is not someone viewing it.
    assert (await inventory.client.get(f"/listings/{busy}")).status_code == 200
    inventory.clock.advance(timedelta(hours=1))
    await _views(inventory, busy, 2)
    # Missing listings are not counted.
    assert (await inventory.client.get(f"/listings/{uuid.uuid4()}", headers=THROUGH_THE_GATEWAY)).status_code == 404

    await _flush(inventory)

    announced = await _announced(inventory, busy, quiet)
    assert _sums(announced) == {
        (busy, nine.isoformat()): 3,
        (busy, (nine + timedelta(hours=1)).isoformat()): 2,
        (quiet, nine.isoformat()): 1,
    }
    assert {envelope["payload"]["provider_id"] for envelope in announced} == {str(provider.user_id)}
    await _flush(inventory)
    assert len(await _announced(inventory, busy, quiet)) == len(announced), "nothing new to send"


async def test_a_batch_left_behind_by_a_crashed_flush_is_sent_again_under_the_same_event_ids(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id = await _listing(inventory, provider)
    redis = inventory.app.state.resources.redis
    hour = datetime(2031, 5, 4, 9, tzinfo=UTC)
    batch = f"{BATCH_PREFIX}crashed-{uuid.uuid4().hex}"
    field = counter_field(uuid.UUID(listing_id), hour + timedelta(minutes=20))
    await redis.hset(batch, field, 4)
    await _flush(inventory)
    first = await _announced(inventory, listing_id)
    assert [envelope["event_id"] for envelope in first] == [str(views_event_id(batch, uuid.UUID(listing_id), hour))]
    assert await redis.exists(batch) == 0

    # The flush died after its commit, before deleting the batch: the next one finds it again.
    await redis.hset(batch, field, 4)
    await _flush(inventory)

    assert await _announced(inventory, listing_id) == first, "the repeat was not queued again"
    assert _sums(first) == {(listing_id, hour.isoformat()): 4}
    assert await redis.exists(batch) == 0


async def test_views_counted_while_a_flush_runs_go_to_the_next_one(inventory: Inventory, provider: Identity) -> None:
    listing_id = await _listing(inventory, provider)
    redis = inventory.app.state.resources.redis
    await _views(inventory, listing_id, 2)
    # What a flush does first: the counters so far become its batch; views after it start anew.
    batch = f"{BATCH_PREFIX}in-flight-{uuid.uuid4().hex}"
    await redis.rename(CURRENT_KEY, batch)
    await _views(inventory, listing_id, 5)

    await _flush(inventory)

    announced = await _announced(inventory, listing_id)
    assert sorted(envelope["payload"]["views"] for envelope in announced) == [2, 5]


async def test_a_listing_is_read_while_redis_is_down_and_its_view_is_lost(
    inventory: Inventory, provider: Identity
) -> None:
    listing_id = await _listing(inventory, provider)
    resources = inventory.app.state.resources
    working, unreachable = resources.redis, connect_redis("redis://127.0.0.1:9/0", timeout_seconds=0.2)
    resources.redis = unreachable
    try:
        read = await inventory.client.get(f"/listings/{listing_id}", headers=THROUGH_THE_GATEWAY)
    finally:
        resources.redis = working
        await unreachable.aclose()
    assert read.status_code == 200, read.text
    assert read.json()["id"] == listing_id
    assert await working.hget(CURRENT_KEY, counter_field(uuid.UUID(listing_id), inventory.clock.now())) is None
