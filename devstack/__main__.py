"""`python -m devstack up|test [pytest args]|bench [platform|analytics]`: what `make up`, `make test`
and `make bench` run (the bench's parts all, or those named)."""

import asyncio
import logging
import os
import subprocess
import sys

from devstack.infra import (
    InfrastructureMissing,
    empty_redis_database,
    ensure_database,
    ensure_postgres,
    ensure_redis,
)
from devstack.stack import plan_stack, run_stack
from devstack.suite import PARTS, plan_parts, run_parts, selects_own_tests, stops_at_first_failure

TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_test"
TEST_REDIS_URL = "redis://127.0.0.1:6379/1"


def up() -> int:
    asyncio.run(run_stack(plan_stack(dict(os.environ))))
    return 0


def test(pytest_args: list[str]) -> int:
    """The suite against real services, on databases made anew for the run: the whole suite in
    parts side by side (devstack/suite.py), or what the arguments name in one process
    (`TEST_PARALLEL=0` runs the whole suite in one process too)."""
    database_url = os.environ.get("TEST_DATABASE_URL", TEST_DATABASE_URL)
    redis_url = os.environ.get("TEST_REDIS_URL", TEST_REDIS_URL)
    if selects_own_tests(pytest_args) or os.environ.get("TEST_PARALLEL") == "0":
        asyncio.run(_prepare([database_url], [redis_url]))
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "ENVIRONMENT": "test"}
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)

    runs = plan_parts(PARTS, pytest_args, database_url=database_url, redis_url=redis_url, base_env=dict(os.environ))
    spare_redis_url = runs[0].env["SPARE_REDIS_URL"]
    asyncio.run(_prepare([run.database_url for run in runs], [run.redis_url for run in runs] + [spare_redis_url]))
    return run_parts(runs, exit_first=stops_at_first_failure(pytest_args))


async def _prepare(database_urls: list[str], redis_urls: list[str]) -> None:
    await ensure_postgres(database_urls[0])
    await ensure_redis(redis_urls[0])
    for database_url in database_urls:
        await ensure_database(database_url, recreate=True)
    for redis_url in redis_urls:
        await empty_redis_database(redis_url)


def bench(parts: list[str]) -> int:
    from devstack.bench import run as run_platform_bench
    from devstack.bench_analytics import run as run_analytics_bench

    runs = {"platform": run_platform_bench, "analytics": run_analytics_bench}
    unknown = [part for part in parts if part not in runs]
    if unknown:
        print(f"unknown bench part(s) {unknown}; use {' or '.join(runs)}", file=sys.stderr)
        return 2
    for part in parts or list(runs):
        if status := runs[part]():
            return status
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s devstack %(levelname)s %(message)s")
    command, *rest = sys.argv[1:] or ["up"]
    try:
        if command == "up":
            return up()
        if command == "test":
            return test(rest)
        if command == "bench":
            return bench(rest)
    except InfrastructureMissing as missing:
        print(missing, file=sys.stderr)
        return 2
    print(f"unknown command {command!r}; use 'up', 'test' or 'bench'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
