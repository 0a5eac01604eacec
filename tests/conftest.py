"""The whole platform, started once for the end-to-end tests that need it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.running_platform import PlatformPorts, devstack_up_command, start_platform, stop_platform, wait_until_ready


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
        # Every test signs in from 127.0.0.1; the limit itself is tested in gateway/tests.
        "GATEWAY_TOKEN_RATE_LIMIT": "100000",
        "DEMO_DATA": "0",
        # A waitlist offer lapses in seconds here, not a day, so the tests see it move on.
        "BOOKING_WAITLIST_CLAIM_SECONDS": "6",
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
