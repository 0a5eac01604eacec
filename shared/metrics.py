"""Prometheus metrics: HTTP traffic by route template, outbox lag and consumer lag, dead-letter
depth, background job runs, the database pool, and the process itself (CPU, memory, file
descriptors, GC); and the way a domain's own series are reached from its work (through the
session) and counted only once that work commits.

Each app has its own registry, so several apps can live in one process (as in tests)
without their series mixing.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import Pool, QueuePool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import after_commit

UNMATCHED_ROUTE = "__unmatched__"
# The key of the app's `AppMetrics` in every session's `info` (shared.db.create_session_factory).
SESSION_METRICS_KEY = "app_metrics"
DomainMetrics = TypeVar("DomainMetrics")
# Shared with the gateway's upstream latency, so the two compare bucket for bucket.
HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    latency: Histogram
    in_flight: Gauge


@dataclass(frozen=True)
class ConsumerMetrics:
    processed: Counter
    dead_lettered: Counter
    lag: Gauge


@dataclass(frozen=True)
class OutboxMetrics:
    pending: Gauge
    oldest_age: Gauge


@dataclass(frozen=True)
class JobMetrics:
    runs: Counter
    last_success: Gauge

    def record(self, job: str, *, ok: bool) -> None:
        self.runs.labels(job, "ok" if ok else "failed").inc()
        if ok:
            self.last_success.labels(job).set_to_current_time()


class PoolCollector(Collector):
    """The database pool's connections, read from the pool when scraped (a few attribute reads),
    so the numbers are never stale and nothing polls between scrapes."""

    def __init__(self) -> None:
        self.pool: Pool | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not isinstance(self.pool, QueuePool):
            return
        connections = GaugeMetricFamily("db_pool_connections", "Database connections by state.", labels=["state"])
        connections.add_metric(["checked_out"], self.pool.checkedout())
        connections.add_metric(["idle"], self.pool.checkedin())
        # Negative while the pool has not yet opened all of its `size` connections.
        connections.add_metric(["overflow"], max(self.pool.overflow(), 0))
        yield connections
        yield GaugeMetricFamily("db_pool_size", "Connections the pool keeps open.", value=self.pool.size())


class AppMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(
            requests=Counter(
                "http_requests_total",
                "HTTP requests handled.",
                ["service", "method", "route", "status"],
                registry=self.registry,
            ),
            latency=Histogram(
                "http_request_duration_seconds",
                "HTTP request latency.",
                ["service", "method", "route"],
                buckets=HTTP_LATENCY_BUCKETS,
                registry=self.registry,
            ),
            in_flight=Gauge(
                "http_requests_in_flight",
                "HTTP requests being handled.",
                ["service", "method"],
                registry=self.registry,
            ),
        )
        self.consumer = ConsumerMetrics(
            processed=Counter(
                "events_consumed_total",
                "Events handled by a consumer, by outcome.",
                ["consumer", "type", "outcome"],
                registry=self.registry,
            ),
            dead_lettered=Counter(
                "events_dead_lettered_total",
                "Events sent to a dead-letter topic.",
                ["consumer", "topic"],
                registry=self.registry,
            ),
            lag=Gauge(
                "consumer_lag",
                "Messages behind the end of a partition.",
                ["consumer", "topic", "partition"],
                registry=self.registry,
            ),
        )
        self.outbox = OutboxMetrics(
            pending=Gauge("outbox_pending_events", "Events waiting in the outbox.", registry=self.registry),
            oldest_age=Gauge(
                "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished event.", registry=self.registry
            ),
        )
        self.dead_letter_depth = Gauge(
            "dead_letter_topic_messages",
            "Messages kept in each of the app's dead-letter topics.",
            ["topic"],
            registry=self.registry,
        )
        self.jobs = JobMetrics(
            runs=Counter(
                "background_job_runs_total",
                "Passes of a background job, by outcome (ok, failed).",
                ["job", "outcome"],
                registry=self.registry,
            ),
            last_success=Gauge(
                "background_job_last_success_timestamp_seconds",
                "When a background job last finished a pass without failing (unix time).",
                ["job"],
                registry=self.registry,
            ),
        )
        self.db_pool = PoolCollector()
        self.registry.register(self.db_pool)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.service = service
        self._domains: dict[Callable[[CollectorRegistry], Any], Any] = {}

    def of(self, register: Callable[[CollectorRegistry], DomainMetrics]) -> DomainMetrics:
        """The app's one instance of a domain's metrics (`HoldMetrics.register`, say), registered
        on the app's registry the first time it is asked for."""
        if register not in self._domains:
            self._domains[register] = register(self.registry)
        metrics: DomainMetrics = self._domains[register]
        return metrics

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (routing records it in the scope)."""
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Counts and times requests by route template (never raw paths, which would explode the
    series), and tracks requests in flight by method: the route is known only once routing ran."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500
        started = time.perf_counter()
        in_flight = self.metrics.http.in_flight.labels(self.metrics.service, method)
        in_flight.inc()

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            in_flight.dec()
            route = _route_template(scope)
            self.metrics.http.requests.labels(self.metrics.service, method, route, str(status)).inc()
            self.metrics.http.latency.labels(self.metrics.service, method, route).observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    metrics: AppMetrics = request.app.state.metrics
    return metrics.render()


def session_metrics(
    session: AsyncSession, register: Callable[[CollectorRegistry], DomainMetrics]
) -> DomainMetrics | None:
    """A domain's metrics of the app whose session this is; None for a session made outside an
    app (a test's own factory), whose work nobody scrapes."""
    app_metrics: AppMetrics | None = session.info.get(SESSION_METRICS_KEY)
    return None if app_metrics is None else app_metrics.of(register)


def count_on_commit(session: AsyncSession, count: Callable[[], None]) -> None:
    """Count what the session's transaction does once it commits, and never if it rolls back:
    a series then agrees with the rows and the events the outbox publishes."""

    async def counted() -> None:
        count()

    after_commit(session, counted)
