"""On SIGTERM an app stops accepting connections, finishes the requests it is serving, and only
then shuts its background work down, with the flags k8s/ and devstack run uvicorn with."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from devstack.infra import free_port
from shared.migrations import upgrade_to_head

SLOW_REQUEST_SECONDS = 3


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app exited while starting"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the app never became ready")


def test_sigterm_drains_the_request_in_flight_refuses_new_ones_then_shuts_down(
    database_url: str, redis_url: str, bootstrap_servers: str, tmp_path: Path
) -> None:
    upgrade_to_head(Path("services/inventory/migrations"), database_url=database_url)
    port = free_port()
    log = tmp_path / "slow-app.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "SLOW_APP_LOG": str(log),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.deploy.slow_app:build_app", "--port", str(port)]
    command += ["--no-proxy-headers", "--timeout-graceful-shutdown", "20", "--log-level", "warning"]
    process = subprocess.Popen(command, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(httpx.get, f"{url}/slow", params={"seconds": SLOW_REQUEST_SECONDS}, timeout=30)
            time.sleep(1)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            refused = False
            try:
                httpx.get(f"{url}/healthz", timeout=2)
            except httpx.ConnectError:
                refused = True
            assert refused, "a new connection was accepted after SIGTERM"
            response = in_flight.result()
        assert (response.status_code, response.json()) == (200, {"status": "done"})
        # uvicorn ends by raising the signal it caught again, once its shutdown is complete.
        assert process.wait(30) == -signal.SIGTERM
        assert log.read_text().splitlines() == ["request finished", "lifespan shut down"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
