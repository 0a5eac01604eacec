"""Running the whole platform for end-to-end tests: `python -m devstack up` (what `make up`
runs) on free ports, against the test database and the session's broker."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from devstack.apps import ALL_APPS, GATEWAY, SERVICES
from devstack.infra import free_ports

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each app of a test platform keeps 4 connections and opens 4 more at a busy moment (10 and 10
# by default): PostgreSQL serves 100 in all, and `make test` runs a platform beside the service
# tests, with a second one started by the make-up test, while other runs share the server.
SMALL_DATABASE_POOLS = {f"{spec.name.upper()}_DATABASE_POOL_SIZE": "4" for spec in ALL_APPS}


@dataclass(frozen=True)
class PlatformPorts:
    apps: dict[str, int]
    stripe: int
    smtp: int
    mail_http: int
    broker: int
    # The Stripe Connect test double payment talks to (devstack/stripe_connect_double.py).
    stripe_connect_double: int
    # The Twilio-compatible SMS sink notification sends through (devstack/twilio_sink.py).
    twilio_sink: int

    @classmethod
    def free(cls) -> "PlatformPorts":
        *app_ports, stripe, smtp, mail_http, broker, stripe_connect_double, twilio_sink = free_ports(len(ALL_APPS) + 6)
        return cls(
            apps={spec.name: port for spec, port in zip(ALL_APPS, app_ports, strict=True)},
            stripe=stripe,
            smtp=smtp,
            mail_http=mail_http,
            broker=broker,
            stripe_connect_double=stripe_connect_double,
            twilio_sink=twilio_sink,
        )

    def environment(self) -> dict[str, str]:
        env = {f"{spec.name.upper()}_PORT": str(self.apps[spec.name]) for spec in ALL_APPS}
        return env | {
            "STRIPE_API_BASE": f"http://127.0.0.1:{self.stripe}",
            "MAIL_SINK_SMTP_PORT": str(self.smtp),
            "MAIL_SINK_HTTP_PORT": str(self.mail_http),
            "BROKER_PORT": str(self.broker),
            "STRIPE_CONNECT_DOUBLE_PORT": str(self.stripe_connect_double),
            "TWILIO_SINK_PORT": str(self.twilio_sink),
        }

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.apps[app]}"

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY.name)

    @property
    def service_names(self) -> list[str]:
        return [spec.name for spec in SERVICES]


def start_platform(
    command: list[str], ports: PlatformPorts, extra_env: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **ports.environment(), **extra_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_ready(ports: PlatformPorts, process: subprocess.Popen[bytes], *, within_seconds: float = 120) -> None:
    """Every app answers /readyz with 200, or the platform process died trying."""
    deadline = time.monotonic() + within_seconds
    pending = dict(ports.apps)
    with httpx.Client(timeout=2) as client:
        while pending and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the platform exited with {process.returncode} before it was ready")
            for name, port in list(pending.items()):
                try:
                    if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
    if pending:
        raise TimeoutError(f"not ready after {within_seconds}s: {sorted(pending)}")


def stop_platform(process: subprocess.Popen[bytes], *, within_seconds: float = 60) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=within_seconds)


def devstack_up_command() -> list[str]:
    return [sys.executable, "-m", "devstack", "up"]


def pid_serving(port: int) -> int:
    """The pid of the uvicorn process started for `port` (found by its command line)."""
    wanted = f"--port\0{port}\0".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"uvicorn" in cmdline and wanted in cmdline:
            return int(entry.name)
    raise LookupError(f"no uvicorn process for port {port}")
