"""On a fresh machine, `make up` and `make test` fail at once, saying what is wrong and how to fix
it, when PostgreSQL refuses the user or Redis is absent or wants a password."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devstack.infra import InfrastructureMissing, ensure_postgres, ensure_redis, free_port, wait_for_port
from tests.deploy.manifests import REPO_ROOT

FAIL_FAST_SECONDS = 5


async def test_a_postgresql_that_refuses_the_user_fails_at_once_with_the_fix(database_url: str) -> None:
    parts = urlsplit(database_url)
    # The test server lets local users in without a password (trust), so a role it does not
    # know is what makes it refuse, the way a stock server refuses a user without a password.
    refused = parts._replace(netloc=f"no_such_role_for_this_test@{parts.hostname}:{parts.port or 5432}").geturl()
    started = time.monotonic()
    with pytest.raises(InfrastructureMissing) as raised:
        await ensure_postgres(refused)
    assert time.monotonic() - started < FAIL_FAST_SECONDS
    message = str(raised.value)
    assert "refuses user 'no_such_role_for_this_test'" in message
    assert "ALTER USER no_such_role_for_this_test PASSWORD" in message
    assert "pg_hba.conf" in message


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without PostgreSQL's or Redis's programs."""
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.usefixtures("bare_path")
async def test_postgresql_not_installed_fails_at_once_with_the_package_to_install() -> None:
    started = time.monotonic()
    with pytest.raises(InfrastructureMissing, match=r"sudo apt-get install postgresql-15"):
        await ensure_postgres(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/travel")
    assert time.monotonic() - started < FAIL_FAST_SECONDS


@pytest.mark.usefixtures("bare_path")
async def test_redis_not_installed_fails_at_once_with_the_package_to_install() -> None:
    started = time.monotonic()
    with pytest.raises(InfrastructureMissing, match=r"sudo apt-get install redis-server"):
        await ensure_redis(f"redis://127.0.0.1:{free_port()}/0")
    assert time.monotonic() - started < FAIL_FAST_SECONDS


@pytest.fixture
def redis_with_a_password() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--requirepass", "s3cret"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=10)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_redis_that_wants_a_password_fails_at_once_saying_so(redis_with_a_password: int) -> None:
    started = time.monotonic()
    with pytest.raises(InfrastructureMissing, match=r"wants a password: give it in REDIS_URL"):
        await ensure_redis(f"redis://127.0.0.1:{redis_with_a_password}/0")
    assert time.monotonic() - started < FAIL_FAST_SECONDS
    await ensure_redis(f"redis://:s3cret@127.0.0.1:{redis_with_a_password}/0")


def test_the_readme_lists_what_a_bare_debian_machine_needs_first() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for package in ("make", "python3-venv", "postgresql-15", "redis-server"):
        assert package in readme
