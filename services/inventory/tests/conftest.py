import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.inventory.main import build_app
from services.inventory.settings import InventorySettings
from shared.clock import FrozenClock
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import identity_headers, make_identity, trust_test_keys


@dataclass
class Inventory:
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: InventorySettings
    app: Any

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience=self.settings.service_name)


@contextlib.asynccontextmanager
async def running_inventory(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Inventory]:
    """An inventory app in this process, on a frozen clock, driven over HTTP."""
    await asyncio.to_thread(upgrade_to_head, Path("services/inventory/migrations"), database_url=database_url)
    # Service-tier tests drive inventory over HTTP; its consumers are exercised end to end.
    settings = InventorySettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        consumers_enabled=False,
    )
    clock = FrozenClock(datetime(2031, 5, 4, 9, 0, tzinfo=UTC))
    app = build_app(settings, clock=clock)
    trust_test_keys(app, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
            yield Inventory(client=client, clock=clock, settings=settings, app=app)


@pytest.fixture
async def inventory(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Inventory]:
    async with running_inventory(database_url, redis_url, bootstrap_servers) as running:
        yield running


@pytest.fixture
def provider() -> Identity:
    return make_identity("provider")


@pytest.fixture
def traveler() -> Identity:
    return make_identity("traveler")


LISTING = {
    "title": "Sunset kayak tour",
    "category": "tour",
    "description": "Paddle along the river at sunset.",
    "city": "Lisbon",
    "country": "PT",
    "timezone": "Europe/Lisbon",
    "currency": "EUR",
    "booking_mode": "instant",
    "availability_mode": "inventory",
    "base_price": "40.00",
    "pricing": {"tax_percent": "10"},
    "hold_ttl_seconds": 900,
}


async def create_listing_with_slot(
    inventory: Inventory, provider: Identity, *, capacity: int = 10, **overrides: Any
) -> tuple[str, str]:
    """A listing with one slot tomorrow at 10:00 local time; returns (listing id, slot id)."""
    created = await inventory.client.post("/listings", json=LISTING | overrides, headers=inventory.as_(provider))
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date()
    schedule = await inventory.client.post(
        f"/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 120,
            "recurrence": "none",
            "capacity": capacity,
            "valid_from": tomorrow.isoformat(),
        },
        headers=inventory.as_(provider),
    )
    assert schedule.status_code == 201, schedule.text
    assert schedule.json()["slots_generated"] == 1
    availability = await inventory.client.get(
        f"/listings/{listing_id}/availability", params={"date": tomorrow.isoformat()}
    )
    slots = availability.json()["slots"]
    assert len(slots) == 1
    return listing_id, slots[0]["slot_id"]


async def create_day_pool_listing(
    inventory: Inventory,
    provider: Identity,
    *,
    day_capacity: int,
    times: tuple[str, ...] = ("10:00", "15:00"),
    **overrides: Any,
) -> tuple[str, list[str]]:
    """A listing whose capacity is per day, with a slot tomorrow at each of `times`; returns
    (listing id, slot ids in time order)."""
    fields = LISTING | {"capacity_per": "day", "day_capacity": day_capacity} | overrides
    created = await inventory.client.post("/listings", json=fields, headers=inventory.as_(provider))
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    tomorrow = (inventory.clock.now() + timedelta(days=1)).date()
    for start_time in times:
        schedule = await inventory.client.post(
            f"/listings/{listing_id}/schedules",
            json={"start_time": start_time, "duration_minutes": 90, "valid_from": tomorrow.isoformat()},
            headers=inventory.as_(provider),
        )
        assert schedule.status_code == 201, schedule.text
    availability = await inventory.client.get(
        f"/listings/{listing_id}/availability", params={"date": tomorrow.isoformat()}
    )
    slots = availability.json()["slots"]
    assert len(slots) == len(times)
    return listing_id, [slot["slot_id"] for slot in slots]
