"""`/healthz` (the process is alive) and `/readyz` (its database, Redis and broker answer)."""

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse

from shared.error_handlers import problem_response

DependencyCheck = Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> DependencyCheck:
    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def redis_check(redis: Redis) -> DependencyCheck:
    async def check() -> None:
        await redis.ping()

    return check


class BrokerProbe:
    """Asks the broker for cluster metadata over a connection of its own."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, client_id="readiness")
        self._bootstrapped = False

    async def __call__(self) -> None:
        if not self._bootstrapped:
            await self._client.bootstrap()
            self._bootstrapped = True
        await self._client.fetch_all_metadata()

    async def close(self) -> None:
        await self._client.close()


async def run_checks(checks: dict[str, DependencyCheck], *, timeout_seconds: float) -> dict[str, str]:
    """Every check at once; each ends as "ok" or the reason it failed."""

    async def outcome(check: DependencyCheck) -> str:
        try:
            await asyncio.wait_for(check(), timeout=timeout_seconds)
        except TimeoutError:
            return f"no answer within {timeout_seconds}s"
        except Exception as error:
            return f"{type(error).__name__}: {error}"[:300]
        return "ok"

    results = await asyncio.gather(*(outcome(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


health_router = APIRouter(tags=["operations"], include_in_schema=False)


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, object]:
    checks: dict[str, DependencyCheck] = request.app.state.readiness_checks
    timeout: float = request.app.state.readiness_timeout_seconds
    results = await run_checks(checks, timeout_seconds=timeout)
    failing = sorted(name for name, result in results.items() if result != "ok")
    if failing:
        return problem_response(
            503,
            f"Not ready: {', '.join(failing)} unavailable.",
            error_code="NOT_READY",
            details={"failing": failing, "checks": results},
        )
    return {"status": "ready", "checks": results}
