"""The gateway forwards /api/v1 to the owning service and answers for it when it cannot: per-route
timeouts, retries of idempotent requests only, a circuit breaker per service, the request id and
trace passed on, CORS and security headers."""

import asyncio
import base64
import dataclasses
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from starlette.types import Message

from devstack.infra import free_port
from gateway.main import build_app
from gateway.proxy.service import ProxyPolicy
from gateway.settings import GatewaySettings
from gateway.tests.servers import client_address
from shared.auth import INTERNAL_IDENTITY_HEADER
from shared.clock import FrozenClock
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import development_signer, gateway_verifier
from shared.tests.servers import served
from shared.tests.tcp_proxy import CuttableProxy

READ_TIMEOUT_SECONDS = 0.3
COOLDOWN = timedelta(seconds=30)
FAILURE_THRESHOLD = 3
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class NewBooking(BaseModel):
    hold_id: str


@dataclass
class Calls:
    """What the stand-in services were asked, by route."""

    counts: dict[str, int] = field(default_factory=dict)
    # Released at teardown: the hanging route answers then, so its server can stop.
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def count(self, route: str) -> int:
        self.counts[route] = self.counts.get(route, 0) + 1
        return self.counts[route]

    def __getitem__(self, route: str) -> int:
        return self.counts.get(route, 0)


def _inventory_double(calls: Calls) -> FastAPI:
    app = FastAPI(title="Inventory double")

    @app.get("/listings")
    async def search_listings(request: Request) -> dict[str, Any]:
        calls.count("listings")
        return {
            "path": request.url.path,
            "query": dict(request.query_params),
            "request_id": request.headers.get("x-request-id"),
            "correlation_id": request.headers.get("x-correlation-id"),
            "forwarded_for": request.headers.get("x-forwarded-for"),
            "internal_identity": request.headers.get(INTERNAL_IDENTITY_HEADER),
            "authorization": request.headers.get("authorization"),
            "traceparent": request.headers.get("traceparent"),
            "tracestate": request.headers.get("tracestate"),
        }

    @app.get("/holds/{hold_id}")
    async def hanging_hold(hold_id: str) -> dict[str, str]:
        calls.count("hold")
        await calls.release.wait()
        return {"id": hold_id}

    @app.get("/listings/{listing_id}/availability")
    async def busy_then_fine(listing_id: str) -> Response:
        if calls.count("availability") == 1:
            return JSONResponse({"error_code": "DEPENDENCY_UNAVAILABLE"}, status_code=503)
        return JSONResponse({"listing_id": listing_id, "slots": []})

    @app.get("/internal/reindex")
    async def not_public() -> dict[str, str]:
        return {}

    return app


def _booking_double(calls: Calls) -> FastAPI:
    app = FastAPI(title="Booking double")

    @app.post("/bookings", status_code=201)
    async def create_booking(
        body: NewBooking, response: Response, idempotency_key: str = Header(alias="Idempotency-Key")
    ) -> dict[str, str]:
        calls.count("create booking")
        response.headers["Location"] = "/bookings/b-1"
        return {"hold_id": body.hold_id, "idempotency_key": idempotency_key}

    @app.get("/bookings/{booking_id}")
    async def read_booking(booking_id: str) -> dict[str, str]:
        calls.count("read booking")
        return {"id": booking_id}

    @app.post("/bookings/{booking_id}/cancel")
    async def always_busy(booking_id: str) -> Response:
        calls.count("cancel booking")
        return JSONResponse({"error_code": "DEPENDENCY_UNAVAILABLE"}, status_code=503)

    return app


@dataclass
class Gateway:
    client: httpx.AsyncClient
    address: str
    app: FastAPI
    clock: FrozenClock
    calls: Calls
    booking_link: CuttableProxy

    @property
    def policy(self) -> ProxyPolicy:
        policy: ProxyPolicy = self.app.state.proxy_policy
        return policy

    def pause_between_tries_with(self, sleep: Any) -> None:
        self.app.state.proxy_policy = dataclasses.replace(self.policy, sleep=sleep)


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    calls = Calls()
    async with served(_inventory_double(calls)) as inventory, served(_booking_double(calls)) as booking:
        # Booking is reached through a link the tests can cut, to refuse connections.
        booking_link = CuttableProxy(upstream_host="127.0.0.1", upstream_port=booking.port)
        await booking_link.open()
        nothing_listens = f"http://127.0.0.1:{free_port()}"
        settings = GatewaySettings(
            database_url=database_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=bootstrap_servers,
            inventory_url=inventory.url,
            booking_url=f"http://127.0.0.1:{booking_link.port}",
            payment_url=nothing_listens,
            notification_url=nothing_listens,
            analytics_url=nothing_listens,
            upstream_read_timeout_seconds=READ_TIMEOUT_SECONDS,
            upstream_timeout_seconds=60,
            upstream_slow_timeout_seconds=60,
            circuit_failure_threshold=FAILURE_THRESHOLD,
            circuit_cooldown_seconds=COOLDOWN.total_seconds(),
            max_request_body_bytes=1024,
        )
        clock = FrozenClock(datetime.now(UTC))
        app = build_app(settings, clock=clock)
        try:
            async with app.router.lifespan_context(app):
                # A client address of its own: rate limits count per address.
                address = client_address()
                transport = httpx.ASGITransport(app=app, client=(address, 50000))
                async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                    client.headers["Authorization"] = f"Bearer {await _sign_up_and_in(client)}"
                    yield Gateway(client, address, app, clock, calls, booking_link)
        finally:
            calls.release.set()
            await booking_link.cut()


async def _sign_up_and_in(client: httpx.AsyncClient) -> str:
    email = f"proxy-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery", "name": "Pat"}
    )
    assert registered.status_code == 202, registered.text
    tokens = await client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse battery"})
    access_token: str = tokens.json()["access_token"]
    return access_token


def _problem(response: httpx.Response, status: int, error_code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["error_code"] == error_code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_a_get_reaches_the_owner_without_the_prefix_and_keeps_its_query(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/api/v1/listings",
        params={"city": "Lisbon", "party_size": "2"},
        headers={"X-Request-ID": "trace-me-1", "X-Correlation-ID": "flow-7"},
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/listings"
    assert echoed["query"] == {"city": "Lisbon", "party_size": "2"}
    assert echoed["request_id"] == "trace-me-1"
    assert echoed["correlation_id"] == "flow-7"
    assert echoed["forwarded_for"] == gateway.address
    assert response.headers["x-request-id"] == "trace-me-1"
    assert response.headers.get_list("x-request-id") == ["trace-me-1"]


async def test_a_path_reaches_the_owner_as_the_client_sent_it_control_characters_and_all(gateway: Gateway) -> None:
    response = await gateway.client.get("/api/v1/bookings/b%1F%20%C3%A9")

    assert response.status_code == 200, response.text
    assert response.json() == {"id": "b\x1f é"}


async def test_a_request_id_the_gateway_refuses_is_replaced_for_the_owner_and_the_caller_alike(
    gateway: Gateway,
) -> None:
    response = await gateway.client.get("/api/v1/listings", headers={"X-Request-ID": "not safe; rm -rf"})
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-request-id"] != "not safe; rm -rf"


async def test_the_trace_goes_on_with_the_gateway_as_the_parent_span(gateway: Gateway) -> None:
    incoming = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    echoed = (
        await gateway.client.get("/api/v1/listings", headers={"traceparent": incoming, "tracestate": "vendor=abc"})
    ).json()
    version, trace_id, parent_id, flags = echoed["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert parent_id not in ("00f067aa0ba902b7", "0" * 16)
    assert echoed["tracestate"] == "vendor=abc"


async def test_a_request_without_a_valid_trace_starts_one(gateway: Gateway) -> None:
    started = [(await gateway.client.get("/api/v1/listings")).json() for _ in range(2)]
    invalid = (
        await gateway.client.get(
            "/api/v1/listings", headers={"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01", "tracestate": "v=1"}
        )
    ).json()
    for echoed in [*started, invalid]:
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", echoed["traceparent"])
        assert echoed["traceparent"].split("-")[1] != "0" * 32
    assert invalid["tracestate"] is None, "a tracestate without its trace is dropped"
    assert started[0]["traceparent"].split("-")[1] != started[1]["traceparent"].split("-")[1]


async def test_the_owner_gets_a_signed_identity_and_never_the_token_or_a_forged_identity(gateway: Gateway) -> None:
    forged = development_signer("booking").sign(
        Identity(user_id=uuid.uuid4(), email="eve@example.com", roles=("traveler",)),
        audience="inventory",
        now=datetime.now(UTC),
    )
    echoed = (await gateway.client.get("/api/v1/listings", headers={INTERNAL_IDENTITY_HEADER: forged})).json()
    assert echoed["authorization"] is None
    # Signed with the gateway's key, which its JWKS publishes.
    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()["keys"]
    identity = await gateway_verifier(jwks, audience="inventory").verify(echoed["internal_identity"])
    assert identity.email.startswith("proxy-")
    assert identity.roles == ("traveler",)

    anonymous = await gateway.client.get(
        "/api/v1/listings", headers={"Authorization": "", INTERNAL_IDENTITY_HEADER: forged}
    )
    assert anonymous.json()["internal_identity"] is None


async def test_a_route_that_needs_sign_in_is_401_at_the_gateway_without_a_token(gateway: Gateway) -> None:
    del gateway.client.headers["Authorization"]
    _problem(
        await gateway.client.post("/api/v1/bookings", json={"hold_id": "h"}, headers={"Idempotency-Key": "k"}),
        401,
        "UNAUTHORIZED",
    )
    _problem(
        await gateway.client.get("/api/v1/bookings/b-1", headers={"Authorization": "Bearer not-a-token"}),
        401,
        "INVALID_TOKEN",
    )
    assert gateway.calls["create booking"] == gateway.calls["read booking"] == 0


async def test_a_post_keeps_its_body_headers_and_status(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/api/v1/bookings", json={"hold_id": "h-1"}, headers={"Idempotency-Key": "key-123"}
    )
    assert response.status_code == 201
    assert response.json() == {"hold_id": "h-1", "idempotency_key": "key-123"}
    assert response.headers["location"] == "/bookings/b-1"


async def test_the_owners_own_errors_come_back_unchanged(gateway: Gateway) -> None:
    response = await gateway.client.post("/api/v1/bookings", json={}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422


async def test_an_unknown_public_path_is_a_404_problem(gateway: Gateway) -> None:
    body = _problem(await gateway.client.get("/api/v1/spaceships"), 404, "NOT_FOUND")
    assert "/api/v1/spaceships" in body["message"]


async def test_a_path_outside_the_api_and_a_method_a_route_lacks_are_problems_too(gateway: Gateway) -> None:
    _problem(await gateway.client.get("/spaceships"), 404, "NOT_FOUND")
    _problem(await gateway.client.put("/api/v1/auth/token", json={}), 404, "NOT_FOUND")
    _problem(await gateway.client.delete("/openapi.json"), 405, "METHOD_NOT_ALLOWED")


async def test_a_service_that_is_down_is_a_502_problem(gateway: Gateway) -> None:
    body = _problem(await gateway.client.get("/api/v1/fees/quote"), 502, "BAD_GATEWAY")
    assert "payment" in body["message"]


async def test_an_oversized_body_is_a_413_problem(gateway: Gateway) -> None:
    big = {"hold_id": "x" * 2000}
    _problem(
        await gateway.client.post("/api/v1/bookings", json=big, headers={"Idempotency-Key": "k"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )


async def test_a_service_that_hangs_is_504_after_its_route_timeout_and_then_its_circuit_opens(
    gateway: Gateway,
) -> None:
    # The hanging route never answers and every other timeout is a minute: a 504 here is the
    # read timeout of this route.
    async with asyncio.timeout(30):
        for _ in range(FAILURE_THRESHOLD):
            body = _problem(await gateway.client.get("/api/v1/holds/h-9"), 504, "GATEWAY_TIMEOUT")
            assert body["details"] == {"service": "inventory", "timeout_seconds": READ_TIMEOUT_SECONDS}
    assert gateway.calls["hold"] == FAILURE_THRESHOLD, "a timed-out GET is not tried again"

    # Open: every inventory route is 503 at once, and inventory hears nothing of it.
    for path in ("/api/v1/holds/h-9", "/api/v1/listings"):
        refused = await gateway.client.get(path)
        body = _problem(refused, 503, "SERVICE_UNAVAILABLE")
        assert refused.headers["Retry-After"] == str(int(COOLDOWN.total_seconds()))
        assert body["details"]["service"] == "inventory"
    assert gateway.calls["hold"] == FAILURE_THRESHOLD
    assert gateway.calls["listings"] == 0
    # Other services' circuits are their own.
    assert (await gateway.client.get("/api/v1/bookings/b-1")).status_code == 200

    # After the cool-down one probe goes through: it hangs too, and the circuit opens again.
    gateway.clock.advance(COOLDOWN)
    _problem(await gateway.client.get("/api/v1/holds/h-9"), 504, "GATEWAY_TIMEOUT")
    _problem(await gateway.client.get("/api/v1/listings"), 503, "SERVICE_UNAVAILABLE")
    assert (gateway.calls["hold"], gateway.calls["listings"]) == (FAILURE_THRESHOLD + 1, 0)

    # After another, a probe that is answered closes it.
    gateway.clock.advance(COOLDOWN)
    assert (await gateway.client.get("/api/v1/listings")).status_code == 200
    assert (await gateway.client.get("/api/v1/listings")).status_code == 200
    assert gateway.calls["listings"] == 2


async def _scraped(gateway: Gateway, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = (await gateway.client.get("/metrics")).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_metrics_count_tries_at_each_upstream_by_status_and_show_its_circuit_state(gateway: Gateway) -> None:
    def state(states: dict[tuple[tuple[str, str], ...], float], upstream: str) -> float:
        return states[(("upstream", upstream),)]

    assert state(await _scraped(gateway, "gateway_circuit_breaker_state"), "inventory") == 0
    assert (await gateway.client.get("/api/v1/listings")).status_code == 200
    async with asyncio.timeout(30):
        for _ in range(FAILURE_THRESHOLD):
            _problem(await gateway.client.get("/api/v1/holds/h-9"), 504, "GATEWAY_TIMEOUT")
    _problem(await gateway.client.get("/api/v1/listings"), 503, "SERVICE_UNAVAILABLE")

    tries = await _scraped(gateway, "gateway_upstream_requests_total")
    assert tries[(("method", "GET"), ("status", "200"), ("upstream", "inventory"))] == 1
    # The refusal of the open circuit never reached inventory: only the timeouts are 504s.
    assert tries[(("method", "GET"), ("status", "504"), ("upstream", "inventory"))] == FAILURE_THRESHOLD
    latency = await _scraped(gateway, "gateway_upstream_request_duration_seconds_count")
    assert latency[(("upstream", "inventory"),)] == FAILURE_THRESHOLD + 1
    states = await _scraped(gateway, "gateway_circuit_breaker_state")
    assert (state(states, "inventory"), state(states, "booking")) == (2, 0)

    gateway.clock.advance(COOLDOWN)
    assert state(await _scraped(gateway, "gateway_circuit_breaker_state"), "inventory") == 1
    assert (await gateway.client.get("/api/v1/listings")).status_code == 200
    assert state(await _scraped(gateway, "gateway_circuit_breaker_state"), "inventory") == 0


async def test_a_get_is_tried_again_after_a_connect_error_and_succeeds(gateway: Gateway) -> None:
    await gateway.booking_link.cut()
    pauses: list[float] = []

    async def reconnect_while_pausing(seconds: float) -> None:
        pauses.append(seconds)
        await gateway.booking_link.open()

    gateway.pause_between_tries_with(reconnect_while_pausing)
    response = await gateway.client.get("/api/v1/bookings/b-7")
    assert response.status_code == 200
    assert response.json() == {"id": "b-7"}
    assert len(pauses) == 1
    assert 0 < pauses[0] <= 0.05


async def test_a_post_is_never_tried_again(gateway: Gateway) -> None:
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    gateway.pause_between_tries_with(record)
    busy = await gateway.client.post("/api/v1/bookings/b-1/cancel", json={})
    assert busy.status_code == 503
    assert gateway.calls["cancel booking"] == 1

    await gateway.booking_link.cut()
    _problem(
        await gateway.client.post("/api/v1/bookings", json={"hold_id": "h"}, headers={"Idempotency-Key": "k"}),
        502,
        "BAD_GATEWAY",
    )
    assert pauses == []
    assert gateway.calls["create booking"] == 0


async def test_a_get_answered_503_is_tried_again(gateway: Gateway) -> None:
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    gateway.pause_between_tries_with(record)
    response = await gateway.client.get("/api/v1/listings/l-1/availability")
    assert response.status_code == 200
    assert gateway.calls["availability"] == 2
    assert len(pauses) == 1


async def test_a_cors_preflight_from_the_web_app_is_answered_at_the_gateway(gateway: Gateway) -> None:
    preflight = await gateway.client.options(
        "/api/v1/bookings",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    assert gateway.calls["create booking"] == 0

    elsewhere = await gateway.client.options(
        "/api/v1/bookings",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert elsewhere.status_code == 400
    assert "access-control-allow-origin" not in elsewhere.headers

    read = await gateway.client.get("/api/v1/listings", headers={"Origin": "http://localhost:3000"})
    assert read.headers["access-control-allow-origin"] == "http://localhost:3000"
    exposed = read.headers["access-control-expose-headers"].lower()
    assert {"x-request-id", "ratelimit-remaining", "retry-after"} <= {name.strip() for name in exposed.split(",")}


async def test_every_answer_carries_the_security_headers(gateway: Gateway) -> None:
    answers = [
        await gateway.client.get("/api/v1/listings"),
        await gateway.client.get("/api/v1/spaceships"),
        await gateway.client.get("/healthz"),
        await gateway.client.options(
            "/api/v1/listings", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
        ),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "strict-transport-security" not in answer.headers, "not over plain http"

    transport = httpx.ASGITransport(app=gateway.app, client=(client_address(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway") as over_https:
        secure = await over_https.get("/api/v1/listings")
    assert secure.headers["strict-transport-security"].startswith("max-age=")


async def test_the_docs_page_may_load_its_assets_and_run_its_script_and_nothing_else(gateway: Gateway) -> None:
    docs = await gateway.client.get("/docs")
    assert docs.status_code == 200
    directives = docs.headers["content-security-policy"].split(";")
    policy = {name: value for name, _, value in (part.strip().partition(" ") for part in directives)}
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    scripts = re.findall(r'<script[^>]*src="(https://[^/"]+)/', docs.text)
    stylesheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="(https://[^/"]+)/', docs.text)
    icons = re.findall(r'<link[^>]*rel="shortcut icon"[^>]*href="(https://[^/"]+)/', docs.text)
    assert scripts
    assert stylesheets
    for origins, directive in ((scripts, "script-src"), (stylesheets, "style-src"), (icons, "img-src")):
        for origin in origins:
            assert origin in policy[directive].split(), (origin, directive)
    inline_scripts = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline_scripts, "the page runs its own script"
    for script in inline_scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"].split()
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'self'" in policy["connect-src"], "it fetches /openapi.json"


async def test_the_merged_openapi_has_every_public_path_and_names_missing_services(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Travel platform API"
    assert {"/api/v1/listings", "/api/v1/holds/{hold_id}", "/api/v1/bookings"} <= set(document["paths"])
    assert not any("reindex" in path for path in document["paths"]), "only routed paths are public"
    assert document["components"]["schemas"]["NewBooking"]["properties"]["hold_id"]
    assert document["x-missing-services"] == ["analytics", "notification", "payment"]
    docs = await gateway.client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


async def _sent_as_is(gateway: Gateway, method: str, raw_path: str, *, signed_in: bool = True) -> httpx.Response:
    """The gateway's answer to `raw_path` exactly as written: an HTTP client would resolve its
    dot segments before sending, a client sending by hand does not."""
    headers = [(b"host", b"gateway")]
    if signed_in:
        headers.append((b"authorization", gateway.client.headers["Authorization"].encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (gateway.address, 50000),
        "server": ("gateway", 80),
    }
    sent: list[Message] = []
    requested, answered = asyncio.Event(), asyncio.Event()

    async def receive() -> Message:
        if not requested.is_set():
            requested.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await gateway.app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return httpx.Response(start["status"], headers=start["headers"], content=body)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/v1/listings/../bookings/b-1",
        "/api/v1/listings/%2e%2e/bookings/b-1",
        "/api/v1/listings/%2E%2E/%2e%2e/api/v1/bookings/b-1",
        "/api/v1/bookings/b-1%2F..%2F..%2Fadmin",
        "/api/v1//bookings/b-1",
        "/api/v1/./bookings/b-1",
        "/api/v1/bookings/b-1/",
    ],
)
async def test_a_path_with_dot_or_empty_segments_is_400_before_the_policy_and_never_forwarded(
    gateway: Gateway, raw_path: str
) -> None:
    before = dict(gateway.calls.counts)

    refused = await _sent_as_is(gateway, "GET", raw_path)
    anonymous = await _sent_as_is(gateway, "GET", raw_path, signed_in=False)

    for response in (refused, anonymous):
        body = _problem(response, 400, "INVALID_PATH")
        assert body["details"]["reason"]
    assert gateway.calls.counts == before, "nothing reached a service"
    plain = await _sent_as_is(gateway, "GET", "/api/v1/bookings/b-1")
    assert plain.json() == {"id": "b-1"}


async def test_an_admin_route_reached_through_dot_segments_is_400_not_a_policy_answer(gateway: Gateway) -> None:
    # Anonymous, the policy would say 401 for /admin/fees and allow /listings: it says neither.
    refused = await _sent_as_is(gateway, "POST", "/api/v1/listings/%2e%2e/admin/fees", signed_in=False)
    _problem(refused, 400, "INVALID_PATH")
