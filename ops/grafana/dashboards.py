"""The platform's Grafana dashboards as code (grafanalib). `python -m ops.grafana.dashboards`
writes them to ops/grafana/dashboards/*.json, which Grafana loads through the provisioning files;
a test proves the committed JSON is what this module generates, and another that every panel's
query returns data from a real Prometheus scraping the platform."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard, GridPos, Stat, Target, TimeSeries

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
APPS = ("gateway", "inventory", "booking", "payment", "notification", "analytics")
WIDTH, HEIGHT, PER_ROW = 12, 8, 2


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    stat: bool = False


def panel(title: str, *queries: Query, unit: str = "short", stat: bool = False) -> Panel:
    return Panel(title, queries, unit, stat)


def _build(uid: str, title: str, tags: list[str], panels: Iterable[Panel]) -> Dashboard:
    built: list[TimeSeries | Stat] = []
    for index, spec in enumerate(panels):
        targets = [
            Target(expr=query.expr, legendFormat=query.legend, refId=chr(ord("A") + number), datasource=DATASOURCE)
            for number, query in enumerate(spec.queries)
        ]
        position = GridPos(h=HEIGHT, w=WIDTH, x=(index % PER_ROW) * WIDTH, y=(index // PER_ROW) * HEIGHT)
        if spec.stat:
            built.append(
                Stat(title=spec.title, dataSource=DATASOURCE, targets=targets, gridPos=position, format=spec.unit)
            )
        else:
            built.append(
                TimeSeries(title=spec.title, dataSource=DATASOURCE, targets=targets, gridPos=position, unit=spec.unit)
            )
    return Dashboard(
        title=title, uid=uid, tags=["travel", *tags], panels=built, refresh="30s", timezone="utc"
    ).auto_panel_ids()


def platform_overview() -> Dashboard:
    return _build(
        "travel-overview",
        "Platform overview",
        ["overview"],
        [
            panel("Requests by service", Query("service:http_requests:rate5m", "{{service}}"), unit="reqps"),
            panel(
                "5xx ratio by service",
                Query("service:http_request_errors:ratio_rate5m", "{{service}}"),
                unit="percentunit",
            ),
            panel(
                "p95 latency by service", Query("service:http_request_duration_seconds:p95_5m", "{{service}}"), unit="s"
            ),
            panel("Requests in flight", Query("sum by (service) (http_requests_in_flight)", "{{service}}")),
            panel(
                "Gateway upstream requests",
                Query("upstream:gateway_upstream_requests:rate5m", "{{upstream}}"),
                unit="reqps",
            ),
            panel(
                "Gateway upstream 5xx", Query("upstream:gateway_upstream_errors:rate5m", "{{upstream}}"), unit="reqps"
            ),
            panel(
                "Gateway upstream p95",
                Query("upstream:gateway_upstream_request_duration_seconds:p95_5m", "{{upstream}}"),
                unit="s",
            ),
            panel(
                "Circuit breakers (0 closed, 1 half-open, 2 open)",
                Query("max by (upstream) (gateway_circuit_breaker_state)", "{{upstream}}"),
            ),
            panel(
                "SLO error ratio, 1h (holds, bookings)",
                Query("slo:holds_availability_errors:ratio_rate1h", "holds availability"),
                Query("slo:holds_latency_errors:ratio_rate1h", "holds latency"),
                Query("slo:bookings_availability_errors:ratio_rate1h", "bookings availability"),
                Query("slo:bookings_latency_errors:ratio_rate1h", "bookings latency"),
                unit="percentunit",
            ),
            panel(
                "Background jobs: since last success",
                Query("time() - max by (app, job) (background_job_last_success_timestamp_seconds)", "{{app}} {{job}}"),
                unit="s",
            ),
            panel(
                "Database pool",
                Query("sum by (app, state) (db_pool_connections)", "{{app}} {{state}}"),
                Query("sum by (app) (db_pool_size)", "{{app}} size"),
            ),
            panel("CPU", Query("sum by (app) (rate(process_cpu_seconds_total[5m]))", "{{app}}"), unit="percentunit"),
            panel("Resident memory", Query("sum by (app) (process_resident_memory_bytes)", "{{app}}"), unit="bytes"),
            panel(
                "GC collections", Query("sum by (app) (rate(python_gc_collections_total[5m]))", "{{app}}"), unit="ops"
            ),
        ],
    )


def booking_funnel() -> Dashboard:
    return _build(
        "travel-booking-funnel",
        "Booking funnel and revenue",
        ["business"],
        [
            panel("Holds by outcome", Query("outcome:inventory_holds:rate5m", "{{outcome}}"), unit="ops"),
            panel("Bookings entering each status", Query("status:booking_bookings:rate5m", "{{status}}"), unit="ops"),
            panel(
                "Confirmed bookings per placed hold (1h)",
                Query(
                    'sum(rate(booking_bookings_total{status="confirmed"}[1h]))'
                    ' / sum(rate(inventory_holds_total{outcome="placed"}[1h]))'
                ),
                unit="percentunit",
                stat=True,
            ),
            panel(
                "Bookings confirmed (24h)",
                Query('sum(increase(booking_bookings_total{status="confirmed"}[24h]))'),
                stat=True,
            ),
            panel("Payments by outcome", Query("outcome:payment_payments:rate5m", "{{outcome}}"), unit="ops"),
            panel(
                "Refunds by outcome",
                Query("sum by (outcome) (rate(payment_refunds_total[5m])) or vector(0)", "{{outcome}}"),
                unit="ops",
            ),
            panel(
                "Payments succeeded (24h)",
                Query('sum(increase(payment_payments_total{outcome="succeeded"}[24h]))'),
                stat=True,
            ),
            panel(
                "Payment webhook to confirmation, p95",
                Query("booking_payment_confirmation_seconds:p95_5m", "p95"),
                unit="s",
            ),
            panel(
                "Stripe webhooks",
                Query("sum by (type, outcome) (rate(payment_stripe_webhooks_total[5m]))", "{{type}} {{outcome}}"),
                unit="ops",
            ),
        ],
    )


def service_red(app: str) -> Dashboard:
    selector = f'{{service="{app}"}}'
    return _build(
        f"travel-red-{app}",
        f"{app} RED",
        ["red", app],
        [
            panel(
                "Requests by route",
                Query(f"service_route:http_requests:rate5m{selector}", "{{method}} {{route}}"),
                unit="reqps",
            ),
            panel(
                "5xx by route",
                Query(f"service_route:http_request_errors:rate5m{selector}", "{{method}} {{route}}"),
                unit="reqps",
            ),
            panel(
                "p95 latency by route",
                Query(f"service_route:http_request_duration_seconds:p95_5m{selector}", "{{method}} {{route}}"),
                unit="s",
            ),
            panel("Requests in flight", Query(f"sum by (method) (http_requests_in_flight{selector})", "{{method}}")),
        ],
    )


def kafka_outbox() -> Dashboard:
    return _build(
        "travel-kafka-outbox",
        "Kafka and outbox",
        ["kafka"],
        [
            panel("Outbox pending events", Query("sum by (app) (outbox_pending_events)", "{{app}}")),
            panel(
                "Outbox oldest pending event",
                Query("max by (app) (outbox_oldest_pending_age_seconds)", "{{app}}"),
                unit="s",
            ),
            panel("Consumer lag", Query("sum by (consumer, topic) (consumer_lag)", "{{consumer}} {{topic}}")),
            panel(
                "Events consumed by outcome",
                Query("consumer_outcome:events_consumed:rate5m", "{{consumer}} {{outcome}}"),
                unit="ops",
            ),
            panel("Dead-lettered events (1h)", Query("topic:events_dead_lettered:increase1h", "{{topic}}")),
            panel("Dead-letter topic depth", Query("sum by (topic) (dead_letter_topic_messages)", "{{topic}}")),
        ],
    )


def notifications() -> Dashboard:
    return _build(
        "travel-notifications",
        "Notifications",
        ["notifications"],
        [
            panel(
                "Delivery attempts",
                Query("channel_outcome:notification_delivery_attempts:rate5m", "{{channel}} {{outcome}}"),
                unit="ops",
            ),
            panel(
                "Given up (1h)",
                Query(
                    "sum by (channel, kind) (increase(notification_deliveries_dead_total[1h])) or vector(0)",
                    "{{channel}} {{kind}}",
                ),
            ),
            panel(
                "Notification consumers' lag", Query('sum by (topic) (consumer_lag{app="notification"})', "{{topic}}")
            ),
            panel(
                "Notification API p95",
                Query('service:http_request_duration_seconds:p95_5m{service="notification"}', "p95"),
                unit="s",
            ),
        ],
    )


def all_dashboards() -> dict[str, Dashboard]:
    dashboards = [platform_overview(), booking_funnel(), kafka_outbox(), notifications()]
    dashboards += [service_red(app) for app in APPS]
    return {f"{dashboard.uid}.json": dashboard for dashboard in dashboards}


def render(dashboard: Dashboard) -> str:
    return json.dumps(dashboard.to_json_data(), cls=DashboardEncoder, indent=2, sort_keys=True) + "\n"


def panel_queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, query) of every panel of a dashboard's JSON."""
    return [(item["title"], target["expr"]) for item in document["panels"] for target in item.get("targets", [])]


def main() -> None:
    DASHBOARDS_DIR.mkdir(exist_ok=True)
    for name, dashboard in all_dashboards().items():
        (DASHBOARDS_DIR / name).write_text(render(dashboard))


if __name__ == "__main__":
    main()
