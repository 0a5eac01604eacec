"""Per-address limits behind proxies: the client's address is read from X-Forwarded-For only
past the trusted proxies (GATEWAY_TRUSTED_PROXIES), walking from the right; what an untrusted
peer writes there changes nothing."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st

from gateway.main import build_app
from gateway.proxy.forwarding import Network, forwarded_client
from gateway.ratelimit.classes import RateLimit
from gateway.settings import GatewaySettings
from gateway.tests.servers import client_address
from shared.clock import FrozenClock
from shared.migrations import upgrade_to_head
from shared.tests.servers import served

A_DAY = 86_400
PROXIES: tuple[Network, ...] = (ip_network("192.168.0.0/16"), ip_network("fd00::/8"))
PROXY = "192.168.3.4"
ADDRESSES = st.ip_addresses(v=4).map(str).filter(lambda address: not address.startswith("192.168."))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    found = forwarded_client("203.0.113.9", ["198.51.100.1, 10.0.0.1"], ())
    assert found.address == "203.0.113.9"
    assert found.chain == ("198.51.100.1", "10.0.0.1", "203.0.113.9")


@given(peer=ADDRESSES, spoofed=st.lists(st.one_of(ADDRESSES, st.just(PROXY), st.text(max_size=8)), max_size=4))
def test_an_untrusted_peer_is_the_client_whatever_it_writes_in_x_forwarded_for(peer: str, spoofed: list[str]) -> None:
    assert forwarded_client(peer, [", ".join(spoofed)], PROXIES).address == peer


@given(client=ADDRESSES, before=st.lists(ADDRESSES, max_size=3), proxies=st.integers(min_value=1, max_value=3))
def test_behind_trusted_proxies_the_client_is_the_first_untrusted_hop_from_the_right(
    client: str, before: list[str], proxies: int
) -> None:
    hops = ["192.168.9.9"] * (proxies - 1)
    found = forwarded_client(PROXY, [", ".join([*before, client, *hops])], PROXIES)
    assert found.address == client
    assert found.chain == (*before, client)


def test_a_hop_that_is_not_an_address_stops_the_walk_at_the_proxy_that_wrote_it() -> None:
    assert forwarded_client(PROXY, ["not-an-address, 192.168.7.7"], PROXIES).address == "192.168.7.7"
    assert forwarded_client(PROXY, [""], PROXIES).address == PROXY
    assert forwarded_client("fd00::1", ["2001:db8::5"], PROXIES).address == "2001:db8::5"
    assert forwarded_client(PROXY, ["198.51.100.1", "203.0.113.7"], PROXIES).address == "203.0.113.7"


def test_trusted_proxies_are_cidrs_and_none_by_default() -> None:
    assert GatewaySettings().trusted_proxies == []
    assert GatewaySettings(trusted_proxies=["10.0.0.0/8", "fd00::/8"]).trusted_proxies == [
        ip_network("10.0.0.0/8"),
        ip_network("fd00::/8"),
    ]


@dataclass
class Gateway:
    app: FastAPI
    forwarded_for: list[str | None]

    def client(self, peer: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(peer, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def _listings_double(forwarded_for: list[str | None]) -> FastAPI:
    app = FastAPI(title="Inventory double")

    @app.get("/listings")
    async def search_listings(request: Request) -> dict[str, Any]:
        forwarded_for.append(request.headers.get("x-forwarded-for"))
        return {"items": [], "next_cursor": None}

    return app


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    forwarded_for: list[str | None] = []
    async with served(_listings_double(forwarded_for)) as inventory:
        settings = GatewaySettings(
            database_url=database_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=bootstrap_servers,
            inventory_url=inventory.url,
            rate_limits={"read": RateLimit(per_ip=2, per_user=2, window_seconds=A_DAY)},
            trusted_proxies=[ip_network("192.168.0.0/16")],
        )
        app = build_app(settings, clock=FrozenClock(datetime.now(UTC)))
        async with app.router.lifespan_context(app):
            yield Gateway(app, forwarded_for)


def _another_address() -> str:
    """An address no other test counts by, outside the trusted range."""
    return f"172.{secrets.randbelow(16) + 16}.{secrets.randbelow(254) + 1}.{secrets.randbelow(254) + 1}"


async def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_gets_no_budget_of_its_own(gateway: Gateway) -> None:
    async with gateway.client(client_address()) as client:
        answers = [
            await client.get("/api/v1/listings", headers={"X-Forwarded-For": _another_address()}) for _ in range(3)
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]


async def test_clients_behind_a_trusted_proxy_are_counted_each_by_their_own_address(gateway: Gateway) -> None:
    first, second = _another_address(), _another_address()
    async with gateway.client(f"192.168.{secrets.randbelow(254) + 1}.1") as proxy:
        for_first = [await proxy.get("/api/v1/listings", headers={"X-Forwarded-For": first}) for _ in range(3)]
        for_second = await proxy.get("/api/v1/listings", headers={"X-Forwarded-For": f"6.6.6.6, {second}"})
    assert [answer.status_code for answer in for_first] == [200, 200, 429]
    assert (for_second.status_code, for_second.headers["RateLimit-Remaining"]) == (200, "1")
    # The service is told the client last, which is the hop it reads (shared.requests).
    assert gateway.forwarded_for[-1] == f"6.6.6.6, {second}"


async def test_the_service_hears_of_the_untrusted_peer_last_whatever_it_forwarded(gateway: Gateway) -> None:
    peer = client_address()
    async with gateway.client(peer) as client:
        await client.get("/api/v1/listings", headers={"X-Forwarded-For": "1.2.3.4"})
    assert gateway.forwarded_for[-1] == f"1.2.3.4, {peer}"
