"""Fixtures for the real infrastructure every tier of tests uses: the database made anew by
`make test`, Redis, and a Kafka-protocol broker (`KAFKA_BOOTSTRAP_SERVERS`, else the dev broker)."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from devstack.infra import BrokerProcess, free_port

TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_test"
TEST_REDIS_URL = "redis://127.0.0.1:6379/1"
SPARE_REDIS_URL = "redis://127.0.0.1:6379/3"

# Property tests prove rules, not speed (make bench measures that): on a shared two-core machine
# running the suite's parts side by side, a wall-clock limit per example only makes them flaky.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ.get("DATABASE_URL", TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("REDIS_URL", TEST_REDIS_URL)


@pytest.fixture(scope="session")
def spare_redis_url() -> str:
    """A Redis database no other platform of the run uses, for a test that starts its own."""
    return os.environ.get("SPARE_REDIS_URL", SPARE_REDIS_URL)


@pytest.fixture(scope="session")
def bootstrap_servers() -> Iterator[str]:
    """The session's broker: the configured one, or a dev broker started for the session."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = BrokerProcess(free_port())
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()
