"""`/readyz` says whether this pod can serve: not before its startup finished nor once it is
stopping, and still while a shared dependency is down (it names it), so an outage of one never
empties a Service; the requests that need the missing dependency answer 503 meanwhile."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from devstack.infra import BrokerProcess, RedisProcess, free_port
from services.inventory.main import build_app
from services.inventory.settings import InventorySettings
from shared.migrations import upgrade_to_head
from shared.tests.tcp_proxy import CuttableProxy


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    redis = RedisProcess(free_port())
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def own_broker() -> Iterator[BrokerProcess]:
    broker = BrokerProcess(free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[CuttableProxy]:
    await asyncio.to_thread(upgrade_to_head, Path("services/inventory/migrations"), database_url=database_url)
    parts = urlsplit(database_url)
    proxy = CuttableProxy(upstream_host=parts.hostname or "127.0.0.1", upstream_port=parts.port or 5432)
    await proxy.open()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def redis_proxy(own_redis: RedisProcess) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(upstream_host="127.0.0.1", upstream_port=own_redis.port)
    await proxy.open()
    yield proxy
    await proxy.cut()


def _settings(
    database_url: str, database_proxy: CuttableProxy, redis_port: int, broker: BrokerProcess
) -> InventorySettings:
    proxied = urlsplit(database_url)._replace(netloc=f"postgres@127.0.0.1:{database_proxy.port}").geturl()
    return InventorySettings(
        database_url=proxied,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        kafka_bootstrap_servers=broker.bootstrap_servers,
        readiness_timeout_seconds=1.0,
    )


@pytest.fixture
async def app(
    database_url: str,
    database_proxy: CuttableProxy,
    redis_proxy: CuttableProxy,
    own_broker: BrokerProcess,
) -> AsyncIterator[FastAPI]:
    app = build_app(_settings(database_url, database_proxy, redis_proxy.port, own_broker))
    async with app.router.lifespan_context(app):
        yield app


async def _readiness(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def _eventually_ready(client: httpx.AsyncClient, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while (await _readiness(client))[0] != 200:
            await asyncio.sleep(0.2)


async def _eventually_healthy(client: httpx.AsyncClient, timeout: float = 20) -> None:
    """Ready with every dependency answering."""
    async with asyncio.timeout(timeout):
        while (await _readiness(client))[1].get("degraded") != []:
            await asyncio.sleep(0.2)


async def test_readyz_stays_ready_naming_each_missing_dependency_and_recovers_without_restart(
    app: FastAPI, database_proxy: CuttableProxy, redis_proxy: CuttableProxy, own_broker: BrokerProcess
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        await _eventually_ready(client)

        for name, take_down, bring_back in (
            ("database", database_proxy.cut, database_proxy.open),
            ("redis", redis_proxy.cut, redis_proxy.open),
            ("broker", _in_thread(own_broker.stop), _in_thread(own_broker.start)),
        ):
            await take_down()
            status, body = await _readiness(client)
            assert status == 200, f"{name} down, and the pod would leave its Service"
            assert body["degraded"] == [name]
            checks = body["checks"]
            assert isinstance(checks, dict)
            assert checks[name] != "ok"
            assert f'dependency_up{{dependency="{name}"}} 0.0' in (await client.get("/metrics")).text

            await bring_back()
            await _eventually_healthy(client)

        status, body = await _readiness(client)
        assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok", "broker": "ok"})


async def test_readyz_is_503_until_startup_has_finished_and_once_shutdown_has_begun(
    database_url: str, database_proxy: CuttableProxy, redis_proxy: CuttableProxy, own_broker: BrokerProcess
) -> None:
    app = build_app(_settings(database_url, database_proxy, redis_proxy.port, own_broker))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        status, body = await _readiness(client)
        assert (status, body["error_code"], body["details"]) == (503, "NOT_READY", {"lifecycle": "starting"})
        async with app.router.lifespan_context(app):
            assert (await _readiness(client))[0] == 200
        status, body = await _readiness(client)
        assert (status, body["details"]) == (503, {"lifecycle": "stopping"})
        assert (await client.get("/healthz")).status_code == 200


def _in_thread(action: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await asyncio.to_thread(action)

    return run


async def test_a_request_while_redis_or_the_database_is_down_is_503_and_works_once_it_is_back(
    app: FastAPI, database_proxy: CuttableProxy, redis_proxy: CuttableProxy
) -> None:
    unknown = uuid.uuid4()
    # The calendar reads its Redis cache before the database; a listing read needs only the database.
    needs_redis = f"/listings/{unknown}/calendar?year=2031&month=5"
    needs_database = f"/listings/{unknown}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        await _eventually_ready(client)
        for path, take_down, bring_back in (
            (needs_redis, redis_proxy.cut, redis_proxy.open),
            (needs_database, database_proxy.cut, database_proxy.open),
        ):
            await take_down()
            down = await client.get(path, headers={"X-Request-ID": "outage-1"})
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["Retry-After"] == "1"
            body = down.json()
            assert (body["error_code"], body["request_id"]) == ("DEPENDENCY_UNAVAILABLE", "outage-1")

            await bring_back()
            await _eventually_healthy(client)
            assert (await client.get(path)).status_code == 404


REDIS_OUTAGE_SECONDS = 10


async def test_through_a_redis_outage_only_requests_that_need_redis_fail_and_the_pod_stays_ready(
    app: FastAPI, redis_proxy: CuttableProxy
) -> None:
    unknown = uuid.uuid4()
    needs_redis = f"/listings/{unknown}/calendar?year=2031&month=5"
    needs_only_the_database = "/listings?limit=1"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        await _eventually_healthy(client)

        await redis_proxy.cut()
        outage_ends = asyncio.get_running_loop().time() + REDIS_OUTAGE_SECONDS
        rounds = 0
        while asyncio.get_running_loop().time() < outage_ends:
            refused = await client.get(needs_redis)
            assert (refused.status_code, refused.json()["error_code"]) == (503, "DEPENDENCY_UNAVAILABLE")
            assert (await client.get(needs_only_the_database)).status_code == 200
            assert (await client.get("/healthz")).status_code == 200
            status, body = await _readiness(client)
            assert (status, body["degraded"]) == (200, ["redis"])
            rounds += 1
        assert rounds >= 2

        await redis_proxy.open()
        await _eventually_healthy(client)
        assert (await client.get(needs_redis)).status_code == 404
        assert (await client.get(needs_only_the_database)).status_code == 200
