"""Prometheus metrics: HTTP traffic by route template, outbox lag and consumer lag.

Each app has its own registry, so several apps can live in one process (as in tests)
without their series mixing.
"""

import time
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "__unmatched__"


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
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
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
        self.service = service

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
