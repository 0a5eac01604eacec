"""The proxy's Prometheus series, in the app's own registry: each try at an upstream (RED) and
each upstream's circuit state.

A try that reached the service counts with its status; one the service never answered counts
with the status the gateway answers for it (504 for a timeout, 502 for a broken connection). A
call the open circuit refused, or one still waiting for a pooled connection, never left the
gateway and is not counted here (the gateway's own `http_requests_total` has it)."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.proxy.breaker import BreakerState, CircuitBreaker
from shared.metrics import HTTP_LATENCY_BUCKETS

BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class BreakerStateCollector(Collector):
    """Each circuit's state read when scraped: an open circuit turns half-open by the clock
    alone, with no call to record the change."""

    def __init__(self) -> None:
        self.breakers: Mapping[str, CircuitBreaker] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        states = GaugeMetricFamily(
            "gateway_circuit_breaker_state",
            "Circuit state per upstream: 0 closed, 1 half-open, 2 open.",
            labels=["upstream"],
        )
        for name, breaker in self.breakers.items():
            states.add_metric([name], BREAKER_STATE_VALUES[breaker.state])
        yield states


@dataclass(frozen=True)
class UpstreamMetrics:
    requests: Counter
    latency: Histogram
    breakers: BreakerStateCollector = field(default_factory=BreakerStateCollector)

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "UpstreamMetrics":
        metrics = cls(
            requests=Counter(
                "gateway_upstream_requests_total",
                "Tries at an upstream service, by the status it answered.",
                ["upstream", "method", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "gateway_upstream_request_duration_seconds",
                "Time from sending a try to an upstream until its response headers (or its failure).",
                ["upstream"],
                buckets=HTTP_LATENCY_BUCKETS,
                registry=registry,
            ),
        )
        registry.register(metrics.breakers)
        return metrics

    def record(self, upstream: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(upstream, method, str(status)).inc()
        self.latency.labels(upstream).observe(seconds)
