"""A real Prometheus, started by devstack's own code, scrapes the running platform while traffic
goes through the gateway: every app is a healthy target, and every recording rule and every
dashboard panel's query returns data."""

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml

from devstack.infra import free_port
from devstack.prometheus import RULES_DIR, PrometheusProcess
from ops.grafana.dashboards import DASHBOARDS_DIR, panel_queries
from tests.flows import available_seats, listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

WITHIN_SECONDS = 45


@pytest.fixture
def prometheus(platform: PlatformPorts) -> Iterator[PrometheusProcess]:
    apps = {name: f"127.0.0.1:{port}" for name, port in platform.apps.items()}
    process = PrometheusProcess(free_port(), apps, scrape_interval="1s", evaluation_interval="1s")
    process.start()
    yield process
    process.stop()


def _recording_rules() -> list[str]:
    return [
        rule["record"]
        for path in sorted(RULES_DIR.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    ]


def _panel_queries() -> dict[str, str]:
    return {
        f"panel {path.stem} / {title}: {expr}": expr
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
        for title, expr in panel_queries(json.loads(path.read_text()))
    }


def _drive_traffic(platform: PlatformPorts) -> None:
    """Listing reads, two travelers' holds (one left to expire on its own), and a booking paid at
    localstripe."""
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        provider, traveler, browser = (sign_up(gateway, role) for role in ("provider", "traveler", "traveler"))
        listing_id, slot_id = listing_with_slot(gateway, provider, capacity=8)
        for _ in range(3):
            assert gateway.get(f"/api/v1/listings/{listing_id}").status_code == 200
            available_seats(gateway, listing_id)
        assert gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=browser).status_code == 201
        hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=traveler)
        assert hold.status_code == 201, hold.text
        body = {
            "hold_id": hold.json()["id"],
            "contact": {"name": "Ana Traveler", "email": "ana@example.com"},
            "payment_option": "full",
        }
        created = gateway.post("/api/v1/bookings", json=body, headers=traveler)
        assert created.status_code == 201, created.text
        booking = created.json()
        paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
        assert paid.json()["status"] == "succeeded"
        wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _without_data(client: httpx.Client, queries: dict[str, str]) -> list[str]:
    missing = []
    for name, query in queries.items():
        answer = client.get("/api/v1/query", params={"query": query}).json()
        assert answer["status"] == "success", (name, answer)
        if not answer["data"]["result"]:
            missing.append(name)
    return missing


def test_every_recording_rule_and_dashboard_panel_returns_data_from_the_running_platform(
    platform: PlatformPorts, prometheus: PrometheusProcess
) -> None:
    _drive_traffic(platform)
    queries = {f"rule {record}": record for record in _recording_rules()}
    queries |= _panel_queries()

    deadline = time.monotonic() + WITHIN_SECONDS
    with httpx.Client(base_url=prometheus.url, timeout=5) as client:
        # The targets' file is read a moment after Prometheus starts: asked for data until the
        # deadline, and checked after.
        missing = list(queries)
        while missing and time.monotonic() < deadline:
            time.sleep(1)
            missing = _without_data(client, {name: queries[name] for name in missing})
        targets = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    assert {target["labels"]["app"]: target["health"] for target in targets} == dict.fromkeys(platform.apps, "up")
    assert missing == [], "no data for:\n" + "\n".join(missing)
