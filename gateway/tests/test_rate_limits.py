"""Rate limits: one GCRA script in Redis, per address and per user, by route class; exact under
concurrency across two gateway processes; and what happens while Redis is away."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from devstack.infra import free_port
from gateway.main import build_app
from gateway.ratelimit.classes import RateClassName, RateLimit, class_name_of, rate_classes
from gateway.ratelimit.service import REDIS_RETRY_AFTER, RateLimiter, connect_limiter_redis
from gateway.settings import GatewaySettings
from gateway.tests.servers import client_address
from shared.clock import FrozenClock
from shared.migrations import upgrade_to_head
from shared.tests.servers import served
from shared.tests.tcp_proxy import CuttableProxy

A_DAY = 86_400


def _address() -> str:
    """A key of its own for a limiter test (any string names an address to the limiter)."""
    return f"test-{uuid.uuid4().hex}"


def _listings_double() -> FastAPI:
    app = FastAPI(title="Inventory double")

    @app.get("/listings")
    async def search_listings() -> dict[str, Any]:
        return {"items": [], "next_cursor": None}

    return app


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/auth/token", "login"),
        ("POST", "/api/v1/auth/register", "register"),
        ("POST", "/api/v1/auth/refresh", "refresh"),
        ("GET", "/api/v1/auth/me", "read"),
        ("POST", "/api/v1/holds", "booking"),
        ("DELETE", "/api/v1/holds/h-1", "booking"),
        ("POST", "/api/v1/bookings/b-1/cancel", "booking"),
        ("PATCH", "/api/v1/bookings/b-1", "booking"),
        ("POST", "/api/v1/carts/c-1/checkout", "booking"),
        ("POST", "/api/v1/trips/t-1/checkout", "booking"),
        ("POST", "/api/v1/trips/t-1/items", "default"),
        ("POST", "/api/v1/booking-requests", "booking"),
        ("GET", "/api/v1/bookings/b-1", "read"),
        ("GET", "/api/v1/shared/trips/t0k3n", "shared_link"),
        ("GET", "/api/v1/trips/t-1/calendar.ics", "shared_link"),
        ("HEAD", "/api/v1/providers/me/calendar.ics", "shared_link"),
        ("GET", "/api/v1/trips/t-1/calendar", "read"),
        ("GET", "/api/v1/providers/me/calendar", "read"),
        ("GET", "/api/v1/trips/t-1", "read"),
        ("HEAD", "/api/v1/listings", "read"),
        ("GET", "/api/v1/ws/availability", "read"),
        ("POST", "/api/v1/listings", "default"),
        ("POST", "/api/v1/holdsx", "default"),
        ("PUT", "/api/v1/admin/experts/e-1", "default"),
    ],
)
def test_every_request_falls_in_one_class_by_its_method_and_path(
    method: str, path: str, expected: RateClassName
) -> None:
    assert class_name_of(method, path) == expected


def test_sign_in_takes_its_limit_from_the_settings_and_every_limit_scales() -> None:
    classes = rate_classes(
        login=RateLimit(per_ip=5, window_seconds=30),
        overrides={"read": RateLimit(per_ip=7, per_user=3)},
        scale=10,
    )
    assert classes["login"].limit == RateLimit(per_ip=50, window_seconds=30)
    assert classes["read"].limit == RateLimit(per_ip=70, per_user=30)
    assert classes["booking"].limit == RateLimit(per_ip=1200, per_user=300)
    assert {name for name, rate_class in classes.items() if not rate_class.fails_open} == {
        "login",
        "register",
        "refresh",
    }


@pytest.fixture
async def limiter(redis_url: str) -> AsyncIterator[RateLimiter]:
    redis = connect_limiter_redis(redis_url, timeout_seconds=2)
    yield RateLimiter(
        redis,
        classes=rate_classes(
            login=RateLimit(per_ip=3, window_seconds=A_DAY),
            overrides={"read": RateLimit(per_ip=6, per_user=3, window_seconds=A_DAY)},
            scale=1,
        ),
        clock=FrozenClock(datetime.now(UTC)),
        registry=CollectorRegistry(),
    )
    await redis.aclose()


async def test_a_burst_of_exactly_the_limit_passes_and_a_refusal_costs_nothing(limiter: RateLimiter) -> None:
    address = _address()
    decisions = [await limiter.check("login", address=address, user_id=None) for _ in range(5)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False, False]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0, 0]
    assert {decision.limit for decision in decisions} == {3}
    refused = decisions[3]
    # One request comes back every 8 hours (a day / 3); the whole budget in a day.
    assert refused.headers()["Retry-After"] == str(A_DAY // 3)
    assert A_DAY - 5 <= refused.reset_seconds <= A_DAY
    assert decisions[4].retry_after_seconds == refused.retry_after_seconds, "a refusal moves nothing on"
    assert (await limiter.check("login", address=_address(), user_id=None)).allowed, "addresses are apart"


async def test_a_signed_in_caller_is_counted_per_user_and_per_address_and_the_tighter_speaks(
    limiter: RateLimiter,
) -> None:
    address, ana, ben = _address(), uuid.uuid4(), uuid.uuid4()
    for remaining in (2, 1, 0):
        decision = await limiter.check("read", address=address, user_id=ana)
        assert (decision.allowed, decision.limit, decision.remaining) == (True, 3, remaining)
    assert not (await limiter.check("read", address=address, user_id=ana)).allowed
    # Ben shares the address: his own budget is whole, the address has 3 of its 6 left.
    first = await limiter.check("read", address=address, user_id=ben)
    assert (first.allowed, first.remaining) == (True, 2)
    anonymous = await limiter.check("read", address=address, user_id=None)
    assert (anonymous.allowed, anonymous.limit, anonymous.remaining) == (True, 6, 1)
    await limiter.check("read", address=address, user_id=None)
    # The address is spent: Ben is refused with budget of his own left, and it binds.
    refused = await limiter.check("read", address=address, user_id=ben)
    assert (refused.allowed, refused.limit) == (False, 6)


@dataclass(frozen=True)
class _Model:
    """The limiter within one instant of a day-long window: plain counting."""

    per_ip: int
    per_user: int

    def run(self, callers: list[str | None]) -> list[tuple[bool, int]]:
        used: Counter[str] = Counter()
        answers = []
        for user in callers:
            keys = [("ip", self.per_ip)] + ([(f"user:{user}", self.per_user)] if user else [])
            allowed = all(used[key] < limit for key, limit in keys)
            if allowed:
                used.update(key for key, _ in keys)
                answers.append((True, min(limit - used[key] for key, limit in keys)))
            else:
                answers.append((False, 0))
        return answers


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_ip=st.integers(min_value=1, max_value=8),
    per_user=st.integers(min_value=1, max_value=8),
    callers=st.lists(st.sampled_from(["ana", "ben", None]), max_size=25),
)
def test_what_passes_is_what_plain_counting_of_both_budgets_allows(
    redis_url: str, per_ip: int, per_user: int, callers: list[str | None]
) -> None:
    users = {name: uuid.uuid4() for name in ("ana", "ben")}

    async def decide() -> list[tuple[bool, int]]:
        redis = connect_limiter_redis(redis_url, timeout_seconds=2)
        try:
            limiter = RateLimiter(
                redis,
                classes=rate_classes(
                    login=RateLimit(per_ip=1),
                    overrides={"read": RateLimit(per_ip=per_ip, per_user=per_user, window_seconds=A_DAY)},
                    scale=1,
                ),
                clock=FrozenClock(datetime.now(UTC)),
                registry=CollectorRegistry(),
            )
            address = _address()
            decisions = [
                await limiter.check("read", address=address, user_id=users[user] if user else None) for user in callers
            ]
        finally:
            await redis.aclose()
        return [(decision.allowed, decision.remaining) for decision in decisions]

    assert asyncio.run(decide()) == _Model(per_ip, per_user).run(callers)


@dataclass(frozen=True)
class _GatewayProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]


def _start_gateway_process(environment: dict[str, str], log: IO[bytes]) -> _GatewayProcess:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "gateway.main:build_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            # The tests' requests come from here and name their own client address.
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ],
        env={**os.environ, **environment},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return _GatewayProcess(process, port, log)


async def _until_up(gateway: _GatewayProcess, client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            if gateway.process.poll() is not None:
                gateway.log.seek(0)
                raise RuntimeError(f"the gateway exited: {gateway.log.read().decode(errors='replace')[-3000:]}")
            try:
                if (await client.get(f"http://127.0.0.1:{gateway.port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture
def gateway_log() -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as log:
        yield log


async def test_exactly_the_limit_passes_out_of_200_concurrent_requests_across_two_gateway_processes(
    database_url: str, redis_url: str, bootstrap_servers: str, gateway_log: IO[bytes]
) -> None:
    limit = 50
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    async with served(_listings_double()) as inventory:
        environment = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "GATEWAY_INVENTORY_URL": inventory.url,
            "GATEWAY_RATE_LIMITS": json.dumps({"read": {"per_ip": limit, "per_user": limit, "window_seconds": A_DAY}}),
            # However slow this machine is under the burst, no answer comes from a timeout.
            "GATEWAY_RATE_LIMIT_REDIS_TIMEOUT_SECONDS": "30",
            "GATEWAY_UPSTREAM_READ_TIMEOUT_SECONDS": "60",
        }
        gateways = [_start_gateway_process(environment, gateway_log) for _ in range(2)]
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                for gateway in gateways:
                    await _until_up(gateway, client)
                address = client_address()
                answers = await asyncio.gather(
                    *(
                        client.get(
                            f"http://127.0.0.1:{gateways[index % 2].port}/api/v1/listings",
                            headers={"X-Forwarded-For": address},
                        )
                        for index in range(200)
                    )
                )
        finally:
            for gateway in gateways:
                gateway.process.terminate()
            for gateway in gateways:
                gateway.process.wait(timeout=30)

    passed = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert (len(passed), len(refused)) == (limit, 200 - limit), Counter(answer.status_code for answer in answers)
    assert sorted(int(answer.headers["RateLimit-Remaining"]) for answer in passed) == list(range(limit))
    for answer in refused:
        assert answer.json()["error_code"] == "RATE_LIMITED"
        assert answer.headers["RateLimit-Remaining"] == "0"
        assert int(answer.headers["Retry-After"]) > 0
        assert int(answer.headers["RateLimit-Reset"]) > 0
    assert {answer.headers["RateLimit-Limit"] for answer in answers} == {str(limit)}


@dataclass
class Gateway:
    client: httpx.AsyncClient
    app: FastAPI
    clock: FrozenClock

    def unchecked(self, route_class: RateClassName, outcome: str) -> float:
        value = self.app.state.metrics.registry.get_sample_value(
            "gateway_rate_limit_unchecked_total", {"route_class": route_class, "outcome": outcome}
        )
        return value or 0.0


@pytest.fixture
async def redis_link(redis_url: str) -> AsyncIterator[CuttableProxy]:
    """Redis reached through a link the test can cut."""
    parsed = urlparse(redis_url)
    link = CuttableProxy(upstream_host=parsed.hostname or "127.0.0.1", upstream_port=parsed.port or 6379)
    await link.open()
    yield link
    await link.cut()


@pytest.fixture
async def gateway(
    database_url: str, redis_url: str, bootstrap_servers: str, redis_link: CuttableProxy
) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    async with served(_listings_double()) as inventory:
        settings = GatewaySettings(
            database_url=database_url,
            redis_url=redis_url.replace(urlparse(redis_url).netloc, f"127.0.0.1:{redis_link.port}"),
            kafka_bootstrap_servers=bootstrap_servers,
            inventory_url=inventory.url,
            rate_limits={
                "read": RateLimit(per_ip=100, per_user=3, window_seconds=A_DAY),
                "register": RateLimit(per_ip=4, window_seconds=A_DAY),
            },
        )
        clock = FrozenClock(datetime.now(UTC))
        app = build_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(client_address(), 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Gateway(client, app, clock)


async def test_every_proxied_answer_tells_the_budget_and_a_refusal_says_when_to_come_back(gateway: Gateway) -> None:
    email = f"limits-{uuid.uuid4().hex[:10]}@example.com"
    registered = await gateway.client.post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery", "name": "Li"}
    )
    assert registered.headers["RateLimit-Limit"] == "4"
    token = (
        await gateway.client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse battery"})
    ).json()["access_token"]
    signed_in = {"Authorization": f"Bearer {token}"}

    answers = [await gateway.client.get("/api/v1/listings", headers=signed_in) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert {answer.headers["RateLimit-Limit"] for answer in answers} == {"3"}
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["error_code"] == "RATE_LIMITED"
    assert body["request_id"] == refused.headers["X-Request-ID"]
    assert body["details"]["retry_after_seconds"] == int(refused.headers["Retry-After"]) == A_DAY // 3

    # The address still has budget for a caller who is not signed in.
    anonymous = await gateway.client.get("/api/v1/listings")
    assert (anonymous.status_code, anonymous.headers["RateLimit-Limit"]) == (200, "100")
    assert anonymous.headers["RateLimit-Remaining"] == "96"


async def test_registration_is_strict_per_address_even_for_requests_it_would_refuse(gateway: Gateway) -> None:
    answers = [await gateway.client.post("/api/v1/auth/register", json={}) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [422, 422, 422, 422, 429]
    assert answers[-1].json()["error_code"] == "RATE_LIMITED"


async def test_while_redis_is_away_reads_go_ahead_uncounted_and_sign_in_is_refused(
    gateway: Gateway, redis_link: CuttableProxy, caplog: pytest.LogCaptureFixture
) -> None:
    assert "RateLimit-Limit" in (await gateway.client.get("/api/v1/listings")).headers

    await redis_link.cut()
    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit.service"):
        reads = [await gateway.client.get("/api/v1/listings") for _ in range(3)]
        sign_in = await gateway.client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "x"})
        register = await gateway.client.post("/api/v1/auth/register", json={})
    assert [read.status_code for read in reads] == [200, 200, 200]
    assert not any(name.lower().startswith("ratelimit-") for read in reads for name in read.headers)
    for refused in (sign_in, register):
        assert refused.status_code == 503
        assert refused.json()["error_code"] == "DEPENDENCY_UNAVAILABLE"
        assert refused.headers["Retry-After"] == "1"
    assert gateway.unchecked("read", "allowed") == 3
    assert gateway.unchecked("login", "refused") == gateway.unchecked("register", "refused") == 1
    warnings = [record for record in caplog.records if record.name == "gateway.ratelimit.service"]
    assert len(warnings) == 1, "one warning, then Redis is left alone for a moment"

    # Back: the limiter asks Redis again once its moment has passed.
    await redis_link.open()
    assert "RateLimit-Limit" not in (await gateway.client.get("/api/v1/listings")).headers
    gateway.clock.advance(REDIS_RETRY_AFTER + timedelta(milliseconds=1))
    back = await gateway.client.get("/api/v1/listings")
    assert back.headers["RateLimit-Remaining"] == "98"
