"""`/healthz` (liveness) and `/readyz` (readiness), and why readiness ignores shared dependencies.

- `/healthz`: the process is alive and its event loop answers. Kubernetes restarts the pod
  when it fails (livenessProbe), so it checks nothing that a restart would not fix.
- `/readyz`: this pod can serve. It answers 503 `NOT_READY` only for reasons of the pod's
  own: its startup has not finished (the lifespan has not opened the engine, Redis and broker
  clients and started its consumers and jobs) or it is shutting down. Kubernetes takes a pod
  that is not ready out of its Service.

PostgreSQL, Redis and Kafka are shared by every pod. Were they part of readiness, a blip of
one would take every pod of every service out of its Service at once, and requests that need
nothing of the missing dependency would find no endpoint at all. So `/readyz` reports each
dependency (in its body, `checks`, and as the gauge `dependency_up{dependency}`) but stays 200
while one is down: a request that needs it answers 503 `DEPENDENCY_UNAVAILABLE` with
`Retry-After` (shared.requests), and the others keep working. The checks are bounded by
`readiness_timeout_seconds`, which the probes' `timeoutSeconds` exceed (tests/deploy).
"""

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum

from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Gauge
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse

from shared.error_handlers import problem_response

DependencyCheck = Callable[[], Awaitable[None]]


class Lifecycle(StrEnum):
    """Where the app is in its life; only `serving` is ready."""

    STARTING = "starting"
    SERVING = "serving"
    STOPPING = "stopping"


def dependency_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "dependency_up",
        "Whether a shared dependency answered the last readiness check (1) or not (0).",
        ["dependency"],
        registry=registry,
    )


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
    state = request.app.state
    lifecycle: Lifecycle = getattr(state, "lifecycle", Lifecycle.STARTING)
    if lifecycle is not Lifecycle.SERVING:
        return problem_response(
            503, f"Not ready: the app is {lifecycle.value}.", error_code="NOT_READY", details={"lifecycle": lifecycle}
        )
    checks: dict[str, DependencyCheck] = state.readiness_checks
    results = await run_checks(checks, timeout_seconds=state.readiness_timeout_seconds)
    gauge: Gauge = state.dependency_up
    for name, result in results.items():
        gauge.labels(dependency=name).set(1 if result == "ok" else 0)
    degraded = sorted(name for name, result in results.items() if result != "ok")
    return {"status": "ready", "lifecycle": lifecycle, "degraded": degraded, "checks": results}
