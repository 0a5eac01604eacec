"""WebSockets through the gateway, to a stand-in for inventory's feed: the handshake is checked
like any request, the caller's identity goes on signed, messages and closes are relayed both
ways, and an idle connection is closed."""

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from devstack.infra import free_port
from gateway.main import build_app
from gateway.proxy.service import ProxyPolicy
from gateway.ratelimit.classes import RateLimit
from gateway.settings import GatewaySettings
from gateway.tests.servers import client_address
from shared.auth import INTERNAL_IDENTITY_HEADER
from shared.migrations import upgrade_to_head
from shared.testing import gateway_verifier
from shared.tests.servers import served

PASSWORD = "correct horse battery"
WAIT_SECONDS = 10


@dataclass
class Feed:
    """What the stand-in feed saw."""

    connections: int = 0
    disconnect_codes: asyncio.Queue[int] = field(default_factory=asyncio.Queue)


def _feed_double(feed: Feed) -> FastAPI:
    app = FastAPI(title="Inventory double")

    @app.websocket("/ws/availability")
    async def availability(websocket: WebSocket) -> None:
        feed.connections += 1
        if websocket.query_params.get("listing_id") == "gone":
            await websocket.close(code=1008, reason="no such listing")
            return
        await websocket.accept()
        await websocket.send_json(
            {
                "identity": websocket.headers.get(INTERNAL_IDENTITY_HEADER),
                "authorization": websocket.headers.get("authorization"),
                "request_id": websocket.headers.get("x-request-id"),
                "traceparent": websocket.headers.get("traceparent"),
                "subprotocols": websocket.scope.get("subprotocols", []),
                "query": dict(websocket.query_params),
            }
        )
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                feed.disconnect_codes.put_nowait(message.get("code", 1005))
                return
            text = message.get("text")
            if text is not None and text.startswith("close:"):
                await websocket.close(code=int(text.removeprefix("close:")), reason="asked to")
                return
            if text is not None:
                await websocket.send_text(f"echo:{text}")
            else:
                await websocket.send_bytes(message["bytes"][::-1])

    return app


@dataclass
class Gateway:
    app: FastAPI
    http: httpx.AsyncClient
    ws_url: str
    address: str
    feed: Feed

    def connect(
        self, path: str, *, headers: dict[str, str] | None = None, subprotocols: list[str] | None = None
    ) -> Any:
        return connect(
            f"{self.ws_url}{path}",
            additional_headers={"X-Forwarded-For": self.address, **(headers or {})},
            subprotocols=[Subprotocol(protocol) for protocol in subprotocols] if subprotocols else None,
            proxy=None,
            open_timeout=WAIT_SECONDS,
        )

    async def access_token(self) -> str:
        email = f"ws-{uuid.uuid4().hex[:12]}@example.com"
        registered = await self.http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Wes"}
        )
        assert registered.status_code == 202, registered.text
        tokens = await self.http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        token: str = tokens.json()["access_token"]
        return token

    def close_idle_connections_after(self, seconds: float) -> None:
        policy: ProxyPolicy = self.app.state.proxy_policy
        self.app.state.proxy_policy = dataclasses.replace(policy, idle_websocket_seconds=seconds)


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    feed = Feed()
    async with served(_feed_double(feed)) as inventory:
        nothing_listens = f"http://127.0.0.1:{free_port()}"
        settings = GatewaySettings(
            database_url=database_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=bootstrap_servers,
            inventory_url=inventory.url,
            booking_url=nothing_listens,
            payment_url=nothing_listens,
            notification_url=nothing_listens,
            analytics_url=nothing_listens,
            upstream_retries=0,
            # Few handshakes per address, so the test of the limit is short.
            rate_limits={"read": RateLimit(per_ip=8, per_user=8, window_seconds=86_400)},
        )
        app = build_app(settings)
        async with served(app, lifespan=True) as gateway:
            # Each test is a client address of its own (the gateway trusts its local proxy's word).
            address = client_address()
            async with httpx.AsyncClient(base_url=gateway.url, headers={"X-Forwarded-For": address}) as http:
                yield Gateway(app, http, gateway.ws_url, address, feed)


async def _first(connection: ClientConnection) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), WAIT_SECONDS))
    return seen


def _refusal(refused: pytest.ExceptionInfo[InvalidStatus], status: int, error_code: str) -> None:
    response = refused.value.response
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert json.loads(response.body or b"{}")["error_code"] == error_code


async def test_messages_go_both_ways_with_the_callers_identity_signed_for_the_service(gateway: Gateway) -> None:
    token = await gateway.access_token()
    async with gateway.connect(
        "/api/v1/ws/availability?listing_id=l-1",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "ws-request-1"},
    ) as connection:
        seen = await _first(connection)
        await connection.send("hello")
        assert await asyncio.wait_for(connection.recv(), WAIT_SECONDS) == "echo:hello"
        await connection.send(b"\x01\x02\x03")
        assert await asyncio.wait_for(connection.recv(), WAIT_SECONDS) == b"\x03\x02\x01"

    assert seen["authorization"] is None, "the token stays at the door"
    jwks = (await gateway.http.get("/.well-known/jwks.json")).json()["keys"]
    identity = await gateway_verifier(jwks, audience="inventory").verify(seen["identity"])
    assert identity.email.startswith("ws-")
    assert seen["request_id"] == "ws-request-1"
    assert seen["traceparent"].startswith("00-")
    assert seen["query"] == {"listing_id": "l-1"}


async def test_a_browser_offers_its_token_as_a_subprotocol_which_stays_at_the_door(gateway: Gateway) -> None:
    token = await gateway.access_token()
    async with gateway.connect(
        "/api/v1/ws/availability?listing_id=l-1", subprotocols=["bearer", token, "availability.v1"]
    ) as connection:
        seen = await _first(connection)
        assert connection.subprotocol == "bearer"
    assert seen["identity"] is not None
    assert seen["subprotocols"] == ["availability.v1"]


async def test_anyone_may_watch_a_public_feed_and_the_service_hears_no_identity(gateway: Gateway) -> None:
    async with gateway.connect("/api/v1/ws/availability?listing_id=l-1") as connection:
        seen = await _first(connection)
    assert seen["identity"] is None


async def test_a_bad_token_is_refused_at_the_handshake_before_the_service_hears_of_it(gateway: Gateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with gateway.connect("/api/v1/ws/availability?listing_id=l-1", subprotocols=["bearer", "forged"]):
            pass
    _refusal(refused, 401, "INVALID_TOKEN")
    assert gateway.feed.connections == 0


async def test_the_services_refusal_of_a_handshake_comes_back_as_it_was(gateway: Gateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with gateway.connect("/api/v1/ws/availability?listing_id=gone"):
            pass
    _refusal(refused, 403, "FORBIDDEN")


async def test_a_service_that_is_down_is_a_502_at_the_handshake(gateway: Gateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with gateway.connect("/api/v1/fees/quote"):
            pass
    _refusal(refused, 502, "BAD_GATEWAY")


async def test_the_services_close_reaches_the_client_with_its_code_and_reason(gateway: Gateway) -> None:
    async with gateway.connect("/api/v1/ws/availability?listing_id=l-1") as connection:
        await _first(connection)
        await connection.send("close:4001")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(connection.recv(), WAIT_SECONDS)
    assert connection.close_code == 4001
    assert connection.close_reason == "asked to"


async def test_the_clients_close_reaches_the_service_with_its_code(gateway: Gateway) -> None:
    async with gateway.connect("/api/v1/ws/availability?listing_id=l-1") as connection:
        await _first(connection)
        await connection.close(code=4002, reason="leaving")
    assert await asyncio.wait_for(gateway.feed.disconnect_codes.get(), WAIT_SECONDS) == 4002


async def test_a_connection_quiet_both_ways_for_the_idle_limit_is_closed(gateway: Gateway) -> None:
    gateway.close_idle_connections_after(0.3)
    async with gateway.connect("/api/v1/ws/availability?listing_id=l-1") as connection:
        await _first(connection)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(connection.recv(), WAIT_SECONDS)
    assert (connection.close_code, connection.close_reason) == (1001, "idle")
    assert await asyncio.wait_for(gateway.feed.disconnect_codes.get(), WAIT_SECONDS) == 1001


async def test_handshakes_count_against_the_rate_limit_and_a_refused_one_says_when_to_come_back(
    gateway: Gateway,
) -> None:
    for _ in range(8):
        async with gateway.connect("/api/v1/ws/availability?listing_id=l-1") as connection:
            await _first(connection)
    with pytest.raises(InvalidStatus) as refused:
        async with gateway.connect("/api/v1/ws/availability?listing_id=l-1"):
            pass
    _refusal(refused, 429, "RATE_LIMITED")
    assert int(refused.value.response.headers["Retry-After"]) > 0
    assert refused.value.response.headers["RateLimit-Remaining"] == "0"
