"""The whole platform, started once for the end-to-end tests that need it."""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from services.payment.ledger.service import unbalanced_transactions
from shared.db import create_engine, create_session_factory
from tests.running_platform import (
    SMALL_DATABASE_POOLS,
    PlatformPorts,
    devstack_up_command,
    start_platform,
    stop_platform,
    wait_until_ready,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that change what every other test of the running platform would see (fee rules,
    blackouts, made at random) run after them."""
    items.sort(key=lambda item: item.get_closest_marker("changes_platform_wide_settings") is not None)


@pytest.fixture(scope="session")
def platform(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, bootstrap_servers: str
) -> Iterator[PlatformPorts]:
    ports = PlatformPorts.free()
    log_path: Path = tmp_path_factory.mktemp("platform") / "platform.log"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        # Every test comes from 127.0.0.1, so every rate limit is a thousand times its own
        # here; the limits themselves are tested in gateway/tests.
        "GATEWAY_RATE_LIMIT_SCALE": "1000",
        "DEMO_DATA": "0",
        # A waitlist offer lapses in seconds here, not a day, so the tests see it move on.
        "BOOKING_WAITLIST_CLAIM_SECONDS": "6",
        # A failed notification is tried again within seconds, not 30 s doubling to 30 min, so a
        # test's provider outage drains as soon as it ends.
        "NOTIFICATION_RETRY_BASE_SECONDS": "1",
        "NOTIFICATION_RETRY_CAP_SECONDS": "8",
        # A delivery worker that died mid-batch (the shared database refused it a connection, say)
        # has its claims taken over in half a minute, not five (a batch's sends take 10 s at most).
        "NOTIFICATION_DELIVERY_LEASE_SECONDS": "30",
        # Listing views reach analytics within a second or two, not half a minute.
        "INVENTORY_VIEW_FLUSH_INTERVAL_SECONDS": "1",
        **SMALL_DATABASE_POOLS,
    }
    with log_path.open("wb") as log:
        process = start_platform(devstack_up_command(), ports, env, log)
        try:
            wait_until_ready(ports, process)
        except Exception:
            stop_platform(process)
            print(log_path.read_text()[-5000:])
            raise
        yield ports
        stop_platform(process)


@pytest.fixture(autouse=True)
def ledger_stays_balanced(request: pytest.FixtureRequest, database_url: str) -> Iterator[None]:
    """After every test that ran the platform, payment's ledger sums to zero per transaction,
    and so per currency."""
    yield
    if "platform" in request.fixturenames:
        assert asyncio.run(_unbalanced(database_url)) == []


async def _unbalanced(database_url: str) -> list[tuple[UUID, str, Decimal]]:
    engine = create_engine(database_url=database_url, schema="payment")
    try:
        async with create_session_factory(engine)() as session:
            return await unbalanced_transactions(session)
    finally:
        await engine.dispose()
