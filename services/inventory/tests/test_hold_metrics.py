"""`inventory_holds_total` counts each hold's outcome once its transaction commits."""

import asyncio
import uuid
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from services.inventory.holds.consumers import booking_events_consumer
from services.inventory.holds.seats import RedisSeats
from services.inventory.tests.conftest import Inventory, create_listing_with_slot
from shared.app import AppResources
from shared.contracts.booking import BookingPaymentReceived
from shared.events.envelope import EventEnvelope
from shared.identity import Identity
from shared.testing import make_identity

OUTCOMES = ("placed", "sold_out", "released", "expired", "converted")


async def _holds_by_outcome(inventory: Inventory) -> dict[str, float]:
    text = (await inventory.client.get("/metrics")).text
    counts = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "inventory_holds_total"
    }
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


async def _until_counted(inventory: Inventory, expected: dict[str, float]) -> None:
    """Counts land just after the commit: wait for them, briefly."""
    async with asyncio.timeout(10):
        while (counts := await _holds_by_outcome(inventory)) != expected:
            await asyncio.sleep(0.05)
    assert counts == expected


async def _hold(inventory: Inventory, traveler: Identity, slot_id: str, adults: int) -> dict[str, str]:
    response = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": adults}, headers=inventory.as_(traveler)
    )
    assert response.status_code in (201, 409), response.text
    body: dict[str, str] = response.json()
    return body


async def test_holds_are_counted_as_placed_sold_out_released_expired_and_converted(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    _, slot_id = await create_listing_with_slot(inventory, provider, capacity=2, hold_ttl_seconds=120)
    counts = await _holds_by_outcome(inventory)

    first = await _hold(inventory, traveler, slot_id, adults=2)
    counts["placed"] += 1
    await _until_counted(inventory, counts)

    refused = await _hold(inventory, make_identity("traveler"), slot_id, adults=1)
    assert refused["error_code"] == "SOLD_OUT"
    counts["sold_out"] += 1
    await _until_counted(inventory, counts)

    assert (await inventory.client.delete(f"/holds/{first['id']}", headers=inventory.as_(traveler))).status_code == 204
    counts["released"] += 1
    await _until_counted(inventory, counts)

    await _hold(inventory, make_identity("traveler"), slot_id, adults=2)
    counts["placed"] += 1
    inventory.clock.advance(timedelta(seconds=120))
    counts["expired"] += 1
    await _until_counted(inventory, counts)

    paid_hold = await _hold(inventory, make_identity("traveler"), slot_id, adults=1)
    counts["placed"] += 1
    paid = BookingPaymentReceived(
        booking_id=uuid.uuid4(), hold_id=uuid.UUID(paid_hold["id"]), slot_id=uuid.UUID(slot_id), seats=1
    )
    resources: AppResources = inventory.app.state.resources
    redis = Redis.from_url(redis_url)
    try:
        handlers = booking_events_consumer(seats=RedisSeats(redis), clock=inventory.clock).handlers
        async with resources.session_factory() as session, session.begin():
            await handlers[(paid.event_type, paid.event_version)](
                session, EventEnvelope.wrap(paid, producer="booking", key="b")
            )
    finally:
        await redis.aclose()
    counts["converted"] += 1
    await _until_counted(inventory, counts)
