"""GET /api/v1/analytics/export through the gateway: an admin downloads revenue as a CSV file
that the csv module reads, with the JSON report's field names as its header and, for a
provider's paid booking, the same numbers as GET /analytics/revenue for the same period;
providers and travelers are refused (403), and a report that does not exist is a 422 with
the problem body."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

COLUMNS = [
    "group",
    "currency",
    "bookings",
    "gmv",
    "platform_fees",
    "refunds",
    "net",
    "payouts",
    "credits_spent",
    "credits",
    "expert_fees",
    "expert_payouts",
]


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _paid_booking(platform: PlatformPorts, gateway: httpx.Client) -> str:
    """A provider of the test's own with one paid, confirmed booking: the provider's id."""
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=5, on=datetime.now(UTC).date() + timedelta(days=20))
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 2, "contact": {"name": "Ines", "email": "ines@example.com"}},
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")
    provider_id: str = gateway.get("/api/v1/auth/me", headers=provider).json()["id"]
    return provider_id


def _provider_group(gateway: httpx.Client, admin: dict[str, str], period: dict[str, str], provider_id: str) -> Any:
    """The provider's revenue group once analytics has counted the booking and its capture."""
    deadline = time.monotonic() + 30
    while True:
        report = gateway.get("/api/v1/analytics/revenue", params=period, headers=admin)
        assert report.status_code == 200, report.text
        found = [group for group in report.json()["groups"] if group["group"] == provider_id]
        if found and found[0]["bookings"] == 1 and float(found[0]["gmv"]) > 0:
            return found[0]
        assert time.monotonic() < deadline, f"analytics did not count {provider_id}'s booking: {found}"
        time.sleep(0.5)


def test_an_admins_revenue_csv_has_the_json_reports_numbers(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider_id = _paid_booking(platform, gateway)
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    today = datetime.now(UTC).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1)), "group_by": "provider"}
    group = _provider_group(gateway, admin, period, provider_id)

    exported = gateway.get(
        "/api/v1/analytics/export", params={**period, "report": "revenue", "format": "csv"}, headers=admin
    )

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="revenue_{period["from"]}_{period["to"]}.csv"'
    )
    header, *rows = list(csv.reader(io.StringIO(exported.text, newline="")))
    assert header == COLUMNS
    assert [row for row in rows if row[0] == provider_id] == [
        ["" if group[column] is None else str(group[column]) for column in COLUMNS]
    ]


@pytest.mark.parametrize("role", ["provider", "traveler"])
def test_providers_and_travelers_may_not_export(gateway: httpx.Client, role: str) -> None:
    answer = gateway.get(
        "/api/v1/analytics/export",
        params={"report": "revenue", "format": "csv", "from": "2031-01-01", "to": "2031-12-31"},
        headers=sign_up(gateway, role),
    )
    assert (answer.status_code, answer.json()["error_code"]) == (403, "FORBIDDEN")


def test_a_report_that_does_not_exist_is_a_422_with_the_problem_body(gateway: httpx.Client) -> None:
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    answer = gateway.get(
        "/api/v1/analytics/export",
        params={"report": "everything", "format": "csv", "from": "2031-01-01", "to": "2031-12-31"},
        headers=admin,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["error_code"] == "VALIDATION_ERROR"
    assert "revenue" in problem["details"]["reports"]
