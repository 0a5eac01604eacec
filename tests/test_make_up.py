"""`make up` on this machine: every app ready and scraped by Prometheus, a crashed app restarted,
SIGTERM stops it all."""

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from devstack.apps import ALL_APPS
from devstack.infra import ensure_database, free_port
from tests.running_platform import (
    SMALL_DATABASE_POOLS,
    PlatformPorts,
    pid_serving,
    start_platform,
    stop_platform,
    wait_until_ready,
)


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _scraped_apps(client: httpx.Client, prometheus_port: int) -> set[str]:
    """The apps Prometheus has scraped successfully (it scrapes every 15 s: wait for one round)."""
    deadline = time.monotonic() + 30
    healthy: set[str] = set()
    while time.monotonic() < deadline and len(healthy) < len(ALL_APPS):
        targets = client.get(f"http://127.0.0.1:{prometheus_port}/api/v1/targets").json()["data"]["activeTargets"]
        healthy = {target["labels"]["app"] for target in targets if target["health"] == "up"}
        time.sleep(0.5)
    return healthy


def test_make_up_runs_every_app_restarts_a_crashed_one_and_stops_cleanly(
    tmp_path: Path, database_url: str, spare_redis_url: str
) -> None:
    # A database and Redis of its own: its relays and consumers must not meet the other platform's.
    own_database = f"{database_url}_make_up"
    asyncio.run(ensure_database(own_database, recreate=True))
    ports = PlatformPorts.free()
    prometheus_port = free_port()
    env = {
        "PROMETHEUS_PORT": str(prometheus_port),
        "DATABASE_URL": own_database,
        "REDIS_URL": spare_redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": "",
        **SMALL_DATABASE_POOLS,
    }
    log_path = tmp_path / "make-up.log"
    with log_path.open("wb") as log:
        process = start_platform(["make", "--no-print-directory", "up"], ports, env, log)
        try:
            wait_until_ready(ports, process)
            with httpx.Client(timeout=5) as client:
                assert client.get(f"{ports.gateway_url}/readyz").status_code == 200
                deadline = time.monotonic() + 60
                while "Ctrl-C stops everything" not in log_path.read_text() and time.monotonic() < deadline:
                    time.sleep(0.2)
                demo = client.get(f"{ports.gateway_url}/api/v1/listings", params={"city": "Lisbon", "limit": 100})
                assert "Alfama walking tour" in {listing["title"] for listing in demo.json()["items"]}
                assert _scraped_apps(client, prometheus_port) == {spec.name for spec in ALL_APPS}

                crashed = pid_serving(ports.apps["booking"])
                os.kill(crashed, signal.SIGKILL)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if client.get(f"{ports.url('booking')}/readyz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.2)
                assert pid_serving(ports.apps["booking"]) != crashed
                assert client.get(f"{ports.url('booking')}/readyz").status_code == 200
        finally:
            exit_code = stop_platform(process)

    output = log_path.read_text()
    # make passes SIGTERM to the platform, waits for it, then ends by the same signal.
    assert exit_code in (0, -signal.SIGTERM), output[-3000:]
    assert output.rstrip().endswith("Stopped."), output[-3000:]
    assert "The platform is up" in output
    assert "admin@travel.example" in output, "make up prints the development accounts"
    assert ports.gateway_url in output
    assert f"http://127.0.0.1:{prometheus_port}" in output, "make up prints where Prometheus is"
    for port in [*ports.apps.values(), prometheus_port, ports.stripe, ports.mail_http, ports.smtp, ports.twilio_sink]:
        assert not _listens(port), f"port {port} still served after make up stopped"


@pytest.mark.usefixtures("platform")
def test_the_running_platform_answers_through_the_gateway(platform: PlatformPorts) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}

        missing = client.get("/api/v1/no-such-resource", headers={"X-Request-ID": "e2e-missing-1"})
        assert missing.status_code == 404
        assert missing.json()["request_id"] == "e2e-missing-1"
        assert missing.headers["content-type"].startswith("application/problem+json")

        metrics = client.get("/metrics")
        assert 'route="/readyz"' in metrics.text
