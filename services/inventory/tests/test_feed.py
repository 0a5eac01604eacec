"""The live availability feed across two inventory processes: a subscriber on one sees the
changes made on the other within a second; the listing's owner sees what changed."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from devstack.infra import RedisProcess, free_port, free_ports, wait_for_port
from services.inventory.tests.conftest import LISTING
from shared.migrations import upgrade_to_head
from shared.testing import gateway_jwks_served, identity_headers, make_identity


@pytest.fixture
def two_inventories(database_url: str, redis_url: str, bootstrap_servers: str) -> Iterator[tuple[str, str]]:
    upgrade_to_head(Path("services/inventory/migrations"), database_url=database_url)
    with _inventory_processes(database_url, redis_url, bootstrap_servers) as addresses:
        yield addresses


@contextlib.contextmanager
def _inventory_processes(database_url: str, redis_url: str, bootstrap_servers: str) -> Iterator[tuple[str, str]]:
    """Two inventory processes, trusting the test gateway's key (served as the gateway's JWKS)."""
    with contextlib.ExitStack() as stack:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "INVENTORY_CONSUMERS_ENABLED": "false",
            "GATEWAY_JWKS_URL": stack.enter_context(gateway_jwks_served()),
        }
        ports = free_ports(2)
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "services.inventory.main:build_app",
                    "--port",
                    str(port),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for port in ports
        ]
        try:
            # Two apps importing and starting at once, beside the suite's other part, on two
            # cores: their start has taken over 30 s, which is load, not what this test proves.
            for port in ports:
                wait_for_port("127.0.0.1", port, timeout=120)
            yield f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)


@pytest.fixture
async def clients(two_inventories: tuple[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    first, second = two_inventories
    async with httpx.AsyncClient(base_url=f"http://{first}") as a, httpx.AsyncClient(base_url=f"http://{second}") as b:
        yield a, b


async def _next(socket: ClientConnection, within: float = 1.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), within))
    return message


async def test_a_change_on_one_process_reaches_subscribers_on_the_other_within_a_second(
    two_inventories: tuple[str, str], clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    on_first, on_second = clients
    provider, traveler = make_identity("provider"), make_identity("traveler")
    listing = await on_first.post("/listings", json=LISTING, headers=identity_headers(provider, audience="inventory"))
    listing_id = listing.json()["id"]
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
    await on_first.post(
        f"/listings/{listing_id}/schedules",
        json={"start_time": "10:00", "duration_minutes": 60, "capacity": 6, "valid_from": day},
        headers=identity_headers(provider, audience="inventory"),
    )
    slot_id = (await on_first.get(f"/listings/{listing_id}/availability", params={"date": day})).json()["slots"][0][
        "slot_id"
    ]

    feed = f"ws://{two_inventories[1]}/ws/availability?listing_id={listing_id}"
    async with (
        connect(feed) as public,
        connect(feed, additional_headers=identity_headers(provider, audience="inventory")) as owner,
    ):
        await asyncio.sleep(0.2)  # both subscriptions are in place
        started = time.perf_counter()
        hold = await on_first.post(
            "/holds", json={"slot_id": slot_id, "adults": 2}, headers=identity_headers(traveler, audience="inventory")
        )
        assert hold.status_code == 201
        seen_by_public, seen_by_owner = await _next(public), await _next(owner)
        assert time.perf_counter() - started < 1.0
        assert seen_by_public == {
            "type": "availability.changed",
            "listing_id": listing_id,
            "slot_id": slot_id,
            "available": 4,
            "capacity": 6,
            "at": seen_by_public["at"],
        }
        assert (seen_by_owner["change"], seen_by_owner["seats"], seen_by_owner["available"]) == ("hold_placed", 2, 4)

        released = await on_second.delete(
            f"/holds/{hold.json()['id']}", headers=identity_headers(traveler, audience="inventory")
        )
        assert released.status_code == 204
        assert (await _next(public))["available"] == 6
        assert (await _next(owner))["change"] == "hold_released"


async def test_the_feed_of_an_unknown_listing_is_refused(two_inventories: tuple[str, str]) -> None:
    unknown = f"ws://{two_inventories[0]}/ws/availability?listing_id=00000000-0000-0000-0000-000000000000"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(unknown):
            pass
    assert refused.value.response.status_code == 403


async def test_the_feed_keeps_delivering_after_redis_restarts(database_url: str, bootstrap_servers: str) -> None:
    await asyncio.to_thread(upgrade_to_head, Path("services/inventory/migrations"), database_url=database_url)
    own_redis = RedisProcess(free_port())
    own_redis.start()
    try:
        with _inventory_processes(database_url, own_redis.url, bootstrap_servers) as (first, second):
            provider = make_identity("provider")
            async with httpx.AsyncClient(base_url=f"http://{first}") as client:
                listing_id = (
                    await client.post(
                        "/listings", json=LISTING, headers=identity_headers(provider, audience="inventory")
                    )
                ).json()["id"]
                day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
                await client.post(
                    f"/listings/{listing_id}/schedules",
                    json={"start_time": "10:00", "duration_minutes": 60, "capacity": 6, "valid_from": day},
                    headers=identity_headers(provider, audience="inventory"),
                )
                slot_id = (await client.get(f"/listings/{listing_id}/availability", params={"date": day})).json()[
                    "slots"
                ][0]["slot_id"]
                async with connect(f"ws://{second}/ws/availability?listing_id={listing_id}") as feed:
                    await asyncio.sleep(0.2)
                    await asyncio.to_thread(own_redis.stop)
                    await asyncio.to_thread(own_redis.start)
                    # Holds made after the restart reach the subscriber once the feed is back;
                    # each by another traveler, as one traveler holds a slot once.
                    deadline = time.monotonic() + 15
                    while True:
                        hold = await client.post(
                            "/holds",
                            json={"slot_id": slot_id},
                            headers=identity_headers(make_identity("traveler"), audience="inventory"),
                        )
                        assert hold.status_code == 201, hold.text
                        try:
                            message = await _next(feed, within=1.0)
                            break
                        except TimeoutError:
                            assert time.monotonic() < deadline, "the feed never came back"
                    assert message["slot_id"] == slot_id
                    assert message["available"] < 6
    finally:
        own_redis.stop()
