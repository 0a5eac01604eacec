"""One way to build every app: the same middleware, error body, health, metrics and event
plumbing, wired once here.

The lifespan opens the database engine, Redis and Kafka clients; the outbox relay and the
consumers run as background tasks that restart after a failure, so an app boots and reports
itself not ready while the broker is away, and recovers when it is back.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.middleware import Middleware

from shared.auth import SERVICE_JWKS_PATH, IdentityVerifier, ServiceSigner
from shared.db import create_engine, create_session_factory
from shared.error_handlers import install_error_handlers
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.dead_letters import dead_letter_depths
from shared.events.envelope import dead_letter_topic_for
from shared.events.kafka import create_producer, ensure_topics
from shared.events.outbox import OutboxRelay, outbox_lag
from shared.health import BrokerProbe, Lifecycle, database_check, dependency_gauge, health_router, redis_check
from shared.logging import configure_logging
from shared.metrics import SESSION_METRICS_KEY, AppMetrics, HttpMetricsMiddleware, JobMetrics, metrics_endpoint
from shared.openapi import install_problem_openapi, operation_id
from shared.requests import RequestContextMiddleware
from shared.settings import AppSettings
from shared.tracing import configure_tracing, instrument_app

logger = logging.getLogger(__name__)


REDIS_POOL_CONNECTIONS = 100
POOL_WAIT_SECONDS = 5.0


def connect_redis(url: str, *, timeout_seconds: float) -> Redis:
    """A Redis client that rides out a restart: a pooled connection the server closed is
    reconnected and the command retried, with backoff, before an error reaches the caller.
    A timeout is not retried: the command may have run, and whether to run it again is the
    caller's to decide. A burst of requests beyond the pool's connections waits its turn for
    up to `POOL_WAIT_SECONDS` instead of failing at once."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_POOL_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.5), retries=5),
        retry_on_error=[RedisConnectionError],
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


@dataclass
class AppResources:
    """What a request handler may use; reachable as `request.app.state.resources`."""

    settings: AppSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    producer: AIOKafkaProducer
    relay: OutboxRelay
    metrics: AppMetrics


async def run_with_restarts(name: str, work: Callable[[], Awaitable[None]], *, max_delay: float = 5.0) -> None:
    """Run `work` until cancelled, starting it again (with backoff) whenever it fails."""
    failures = 0
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            logger.exception("%s failed; restarting (failure %d)", name, failures)
            await asyncio.sleep(min(0.2 * 2**failures, max_delay))


AppLifespanHook = Callable[[FastAPI, "AppResources"], AbstractAsyncContextManager[None]]
# A consumer, or how to build one from the app's resources (when its handlers need Redis, say).
ConsumerSource = ConsumerSpec | Callable[["AppResources"], ConsumerSpec]


@dataclass(frozen=True)
class BackgroundJob:
    """Work an app does beside serving HTTP (expiring holds, sending email), run until the app
    stops and started again after a failure."""

    name: str
    run: Callable[["AppResources"], Awaitable[None]]


@dataclass(frozen=True)
class _RunningJob:
    name: str
    metrics: JobMetrics


# Set inside each background job's own task, so its passes are counted under its name.
_running_job: ContextVar[_RunningJob | None] = ContextVar("running_job", default=None)


async def _run_job(job: BackgroundJob, resources: "AppResources") -> None:
    _running_job.set(_RunningJob(job.name, resources.metrics.jobs))
    await job.run(resources)


@asynccontextmanager
async def job_pass() -> AsyncIterator[None]:
    """One pass of the running background job (a sweep, a batch): counted ok or failed under
    the job's name, and an ok pass is its heartbeat (the time of its last success). Wrap the
    work, not the sleep between passes. Outside a job (a test calling the work) it only runs
    the body."""
    job = _running_job.get()
    try:
        yield
    except Exception:
        if job is not None:
            job.metrics.record(job.name, ok=False)
        raise
    if job is not None:
        job.metrics.record(job.name, ok=True)


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait until they have ended. A cancellation that a library absorbs
    (a database session's cleanup can swallow one, and the job then loops on) is delivered
    again, so a shutdown never waits forever."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1)
    await asyncio.gather(*tasks, return_exceptions=True)


def create_app(
    settings: AppSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    consumers: Sequence[ConsumerSource] = (),
    background_jobs: Sequence[BackgroundJob] = (),
    lifespan_hook: AppLifespanHook | None = None,
    serve_own_openapi: bool = True,
    inner_middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """An app with the platform's middleware, error body, health, metrics and event plumbing.

    `lifespan_hook` opens what one app alone needs (the gateway's upstream clients) once the
    shared resources exist, and closes it before they go. `serve_own_openapi=False` leaves
    `/openapi.json` and `/docs` to the app (the gateway serves the merged document there).
    `inner_middleware` (outermost first) runs inside the platform's own, so what it answers
    carries the request id and is counted (the gateway's rate limits).
    """
    settings.refuse_development_secrets_in_production()
    metrics = AppMetrics(settings.service_name)
    tracing = configure_tracing(
        service_name=settings.service_name,
        exporter=settings.tracing_exporter,
        sample_ratio=settings.tracing_sample_ratio,
        otlp_endpoint=settings.tracing_otlp_endpoint,
        directory=settings.tracing_directory,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service_name=settings.service_name, level=settings.log_level)
        async with AsyncExitStack() as stack:
            engine = create_engine(
                database_url=settings.database_url,
                schema=settings.db_schema,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
            )
            stack.push_async_callback(engine.dispose)
            metrics.db_pool.pool = engine.sync_engine.pool
            redis = connect_redis(settings.redis_url, timeout_seconds=settings.readiness_timeout_seconds)
            stack.push_async_callback(redis.aclose)
            producer = create_producer(settings.kafka_bootstrap_servers, client_id=settings.service_name)
            relay_holder: list[OutboxRelay] = []
            session_factory = create_session_factory(
                engine, after_outbox_commit=lambda: relay_holder[0].notify(), info={SESSION_METRICS_KEY: metrics}
            )
            relay = OutboxRelay(
                session_factory=session_factory,
                producer=producer,
                lock_name=f"outbox:{settings.db_schema}",
                batch_size=settings.outbox_batch_size,
                poll_interval_seconds=settings.outbox_poll_interval_seconds,
            )
            relay_holder.append(relay)
            broker_probe = BrokerProbe(settings.kafka_bootstrap_servers)
            stack.push_async_callback(broker_probe.close)
            resources = AppResources(
                settings=settings,
                engine=engine,
                session_factory=session_factory,
                redis=redis,
                producer=producer,
                relay=relay,
                metrics=metrics,
            )
            app.state.resources = resources
            app.state.readiness_checks = {
                "database": database_check(engine),
                "redis": redis_check(redis),
                "broker": broker_probe,
            }
            app.state.readiness_timeout_seconds = settings.readiness_timeout_seconds

            if lifespan_hook is not None:
                await stack.enter_async_context(lifespan_hook(app, resources))
            tasks = [asyncio.create_task(_run_event_plumbing(resources, consumers), name="event-plumbing")]
            tasks += [
                asyncio.create_task(run_with_restarts(job.name, partial(_run_job, job, resources)), name=job.name)
                for job in background_jobs
            ]
            app.state.lifecycle = Lifecycle.SERVING
            try:
                yield
            finally:
                # uvicorn has stopped accepting and drained in-flight requests by now
                # (--timeout-graceful-shutdown); what is left is the background work.
                app.state.lifecycle = Lifecycle.STOPPING
                await cancel_and_wait(tasks)
                await producer.stop()

    app = FastAPI(
        title=title,
        lifespan=lifespan,
        redoc_url=None,
        openapi_url="/openapi.json" if serve_own_openapi else None,
        docs_url="/docs" if serve_own_openapi else None,
        generate_unique_id_function=operation_id,
    )
    install_problem_openapi(app)
    app.state.metrics = metrics
    app.state.lifecycle = Lifecycle.STARTING
    app.state.dependency_up = dependency_gauge(metrics.registry)
    app.state.identity_verifier = IdentityVerifier.for_service(
        settings.service_name, gateway_jwks_url=settings.gateway_jwks_url, caller_jwks_urls=settings.caller_jwks_urls
    )
    # What the app consumes, for tools that replay its input topics.
    app.state.consumer_sources = tuple(consumers)
    install_error_handlers(app)
    for layer in reversed(inner_middleware):
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    if settings.signs_service_identity:
        signer = ServiceSigner(settings.service_name, settings.signing_key())
        app.state.service_signer = signer
        # The services this one calls verify its tokens with this (their CALLER_JWKS_URLS).
        app.add_api_route(SERVICE_JWKS_PATH, signer.jwks, methods=["GET"], include_in_schema=False)
    for router in routers:
        app.include_router(router)
    if tracing:
        instrument_app(app)
    return app


async def _run_event_plumbing(resources: AppResources, sources: Sequence[ConsumerSource]) -> None:
    """Connect to the broker (waiting for it if need be), then relay and consume until cancelled."""
    settings = resources.settings
    consumers = [source if isinstance(source, ConsumerSpec) else source(resources) for source in sources]

    async def connect() -> None:
        if settings.creates_topics:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                [settings.events_topic, *(dead_letter_topic_for(spec.name) for spec in consumers)],
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
        await resources.producer.start()

    await run_with_restarts(f"{settings.service_name} broker connection", connect)

    dead_letter_topics = [dead_letter_topic_for(spec.name) for spec in consumers]
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(run_with_restarts("outbox lag metrics", lambda: _record_outbox_lag(resources)))
        if dead_letter_topics:
            tasks.create_task(
                run_with_restarts(
                    "dead-letter depth metrics", lambda: _record_dead_letter_depth(resources, dead_letter_topics)
                )
            )
        if settings.relay_enabled:
            tasks.create_task(run_with_restarts("outbox relay", resources.relay.run))
        if settings.consumers_enabled:
            for spec in consumers:
                consumer = EventConsumer(
                    spec=spec,
                    session_factory=resources.session_factory,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    dead_letter_producer=resources.producer,
                    metrics=resources.metrics.consumer,
                    max_attempts=settings.consumer_max_attempts,
                    retry_backoff_seconds=settings.consumer_retry_backoff_seconds,
                )
                tasks.create_task(run_with_restarts(f"consumer {spec.name}", consumer.run))


async def _record_outbox_lag(resources: AppResources) -> None:
    while True:
        pending, oldest_age = await outbox_lag(resources.session_factory)
        resources.metrics.outbox.pending.set(pending)
        resources.metrics.outbox.oldest_age.set(oldest_age)
        await asyncio.sleep(resources.settings.metrics_lag_interval_seconds)


async def _record_dead_letter_depth(resources: AppResources, topics: list[str]) -> None:
    settings = resources.settings
    client = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-dead-letter-depth",
        enable_auto_commit=False,
    )
    await client.start()
    try:
        while True:
            for topic, depth in (await dead_letter_depths(client, topics)).items():
                resources.metrics.dead_letter_depth.labels(topic).set(depth)
            await asyncio.sleep(settings.metrics_lag_interval_seconds)
    finally:
        await client.stop()
