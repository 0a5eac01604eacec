"""`/readyz` names the dependency that is down, and recovers when it is back, without a restart."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from devstack.infra import BrokerProcess, RedisProcess, free_port
from services.inventory.main import build_app
from services.inventory.settings import InventorySettings
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
    parts = urlsplit(database_url)
    proxy = CuttableProxy(upstream_host=parts.hostname or "127.0.0.1", upstream_port=parts.port or 5432)
    await proxy.open()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def app(
    database_url: str, database_proxy: CuttableProxy, own_redis: RedisProcess, own_broker: BrokerProcess
) -> AsyncIterator[FastAPI]:
    proxied = urlsplit(database_url)._replace(netloc=f"postgres@127.0.0.1:{database_proxy.port}").geturl()
    settings = InventorySettings(
        database_url=proxied,
        redis_url=f"redis://127.0.0.1:{own_redis.port}/0",
        kafka_bootstrap_servers=own_broker.bootstrap_servers,
        readiness_timeout_seconds=1.0,
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def _readiness(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def _eventually_ready(client: httpx.AsyncClient, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while (await _readiness(client))[0] != 200:
            await asyncio.sleep(0.2)


async def test_readyz_names_each_missing_dependency_and_recovers_without_restart(
    app: FastAPI, database_proxy: CuttableProxy, own_redis: RedisProcess, own_broker: BrokerProcess
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        await _eventually_ready(client)

        for name, take_down, bring_back in (
            ("database", database_proxy.cut, database_proxy.open),
            ("redis", _in_thread(own_redis.stop), _in_thread(own_redis.start)),
            ("broker", _in_thread(own_broker.stop), _in_thread(own_broker.start)),
        ):
            await take_down()
            status, body = await _readiness(client)
            assert status == 503, f"{name} down, yet ready"
            assert body["error_code"] == "NOT_READY"
            details = body["details"]
            assert isinstance(details, dict)
            assert details["failing"] == [name]
            assert name in str(body["message"])

            await bring_back()
            await _eventually_ready(client)

        status, body = await _readiness(client)
        assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok", "broker": "ok"})


def _in_thread(action: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await asyncio.to_thread(action)

    return run


async def test_a_request_while_redis_or_the_database_is_down_is_503_and_works_once_it_is_back(
    app: FastAPI, database_proxy: CuttableProxy, own_redis: RedisProcess
) -> None:
    unknown = uuid.uuid4()
    # The calendar reads its Redis cache before the database; a listing read needs only the database.
    needs_redis = f"/listings/{unknown}/calendar?year=2031&month=5"
    needs_database = f"/listings/{unknown}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        await _eventually_ready(client)
        for path, take_down, bring_back in (
            (needs_redis, _in_thread(own_redis.stop), _in_thread(own_redis.start)),
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
            await _eventually_ready(client)
            assert (await client.get(path)).status_code == 404
