"""The monthly calendar: per day slots and seats, from a cache that every change invalidates."""

import asyncio
import json
from datetime import timedelta

from redis.asyncio import Redis

from services.inventory.tests.conftest import Inventory
from services.inventory.tests.test_blackouts import _daily_listing
from shared.identity import Identity


async def _calendar(inventory: Inventory, listing_id: str) -> dict[str, tuple[int, int, bool]]:
    response = await inventory.client.get(f"/listings/{listing_id}/calendar", params={"year": 2031, "month": 5})
    assert response.status_code == 200, response.text
    return {
        day["date"]: (day["slots"], day["available_seats"], day["has_availability"]) for day in response.json()["days"]
    }


async def test_the_calendar_counts_each_day_and_follows_every_change(
    inventory: Inventory, provider: Identity, traveler: Identity, redis_url: str
) -> None:
    listing_id, first = await _daily_listing(inventory, provider, days=10)
    assert first.isoformat() == "2031-05-05"
    days = await _calendar(inventory, listing_id)
    assert len(days) == 31
    assert days["2031-05-04"] == (0, 0, False)
    assert days["2031-05-05"] == days["2031-05-14"] == (1, 5, True)
    assert days["2031-05-15"] == (0, 0, False)

    # The answer comes from the cache: an entry edited behind the platform's back shows.
    redis = Redis.from_url(redis_url)
    try:
        [key] = await redis.keys(f"calendar:{listing_id}:*:2031-05")
        raw = await redis.get(key)
        assert raw is not None
        cached = json.loads(raw)
        cached["days"][0]["slots"] = 99
        await redis.set(key, json.dumps(cached))
    finally:
        await redis.aclose()
    assert (await _calendar(inventory, listing_id))["2031-05-01"] == (99, 0, False)

    slot_id = (
        await inventory.client.get(f"/listings/{listing_id}/availability", params={"date": "2031-05-06"})
    ).json()["slots"][0]["slot_id"]
    hold = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 5}, headers=inventory.as_(traveler)
    )
    assert hold.status_code == 201
    days = await _calendar(inventory, listing_id)
    assert days["2031-05-06"] == (1, 0, False), "a hold invalidates"
    assert days["2031-05-01"] == (0, 0, False)

    released = await inventory.client.delete(f"/holds/{hold.json()['id']}", headers=inventory.as_(traveler))
    assert released.status_code == 204
    assert (await _calendar(inventory, listing_id))["2031-05-06"] == (1, 5, True), "a release invalidates"

    await inventory.client.post(
        f"/listings/{listing_id}/blackouts",
        json={"start_date": "2031-05-07", "end_date": "2031-05-08", "reason": "Boat repairs"},
        headers=inventory.as_(provider),
    )
    days = await _calendar(inventory, listing_id)
    assert days["2031-05-07"] == days["2031-05-08"] == (0, 0, False), "a blackout invalidates"

    again = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert again.status_code == 201
    assert (await _calendar(inventory, listing_id))["2031-05-06"] == (1, 3, True)
    inventory.clock.advance(timedelta(seconds=901))
    # The expiry job records the lapse within its interval, and that invalidates.
    for _ in range(50):
        if (await _calendar(inventory, listing_id))["2031-05-06"] == (1, 5, True):
            break
        await asyncio.sleep(0.1)
    assert (await _calendar(inventory, listing_id))["2031-05-06"] == (1, 5, True), "an expiry invalidates"


async def test_a_bad_month_is_422_and_an_unknown_listing_404(inventory: Inventory, provider: Identity) -> None:
    listing_id, _ = await _daily_listing(inventory, provider, days=1)
    bad = await inventory.client.get(f"/listings/{listing_id}/calendar", params={"year": 2031, "month": 13})
    assert bad.status_code == 422
    unknown = await inventory.client.get(
        "/listings/00000000-0000-0000-0000-000000000000/calendar", params={"year": 2031, "month": 5}
    )
    assert unknown.status_code == 404
