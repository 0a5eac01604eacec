"""The conversion funnel through the gateway, for a scripted provider: views of an instant
listing's page, holds, bookings, payments and confirmations, and requests to book another
listing answered after known delays, give the admin's report exactly the hand-computed figures
for that listing and provider (response times as the requests' own timestamps, read back, say).
Another service reading a listing is not a view; replaying the topics from the start into an
empty schema gives the same figures; and the report is the admins' alone."""

import asyncio
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.analytics.funnel.domain import percentile
from services.analytics.funnel.service import FUNNEL_EVENTS
from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
from tests.replaying import replay_into_empty_tables
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Noa", "email": "noa@example.com"}
VIEWS = 7


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _book(gateway: httpx.Client, slot_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    traveler = sign_up(gateway, "traveler")
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": 2, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    return traveler, booking


def _ask(gateway: httpx.Client, slot_id: str) -> str:
    asked = gateway.post(
        "/api/v1/booking-requests",
        json={"slot_id": slot_id, "adults": 2, "contact": CONTACT},
        headers=sign_up(gateway, "traveler"),
    )
    assert asked.status_code == 201, asked.text
    request_id: str = asked.json()["id"]
    return request_id


def _report(gateway: httpx.Client, admin: dict[str, str], **params: str) -> dict[str, Any]:
    today = date.today()
    span = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    answer = gateway.get("/api/v1/analytics/conversion", params=span | params, headers=admin)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in report["total"].items() if name != "group"}


def _once_equal(read: Any, expected: dict[str, Any], within: float = 30) -> None:
    """Wait until the report shows the expected figures (the flows' last events are in)."""
    deadline = time.monotonic() + within
    figures = read()
    while figures != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        figures = read()
    assert figures == expected


async def _replay_into_an_empty_schema(database_url: str, bootstrap_servers: str) -> int:
    return await replay_into_empty_tables(
        FUNNEL_EVENTS,
        ("funnel_day", "funnel_listing", "funnel_booking", "funnel_request"),
        schema="analytics",
        database_url=database_url,
        bootstrap_servers=bootstrap_servers,
    )


def test_the_funnel_and_response_times_of_a_scripted_provider_equal_the_hand_computed_ones(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str, bootstrap_servers: str
) -> None:
    stripe = f"http://127.0.0.1:{platform.stripe}"
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    provider = sign_up(gateway, "provider")
    on = date.today() + timedelta(days=30)
    instant, instant_slot = listing_with_slot(gateway, provider, capacity=20, on=on)
    asked_listing, asked_slot = listing_with_slot(gateway, provider, capacity=20, on=on, booking_mode="request")
    provider_id = gateway.get(f"/api/v1/listings/{instant}").json()["provider_id"]  # a view too

    for _ in range(VIEWS - 1):
        assert gateway.get(f"/api/v1/listings/{instant}").status_code == 200
    # Three bookings (each holds its seats first) of which two are paid; one more hold, unbooked.
    booked = [_book(gateway, instant_slot) for _ in range(3)]
    held = gateway.post(
        "/api/v1/holds", json={"slot_id": instant_slot, "adults": 1}, headers=sign_up(gateway, "traveler")
    )
    assert held.status_code == 201, held.text
    for traveler, booking in booked[:2]:
        assert pay(stripe, booking["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
        wait_for_status(gateway, booking["id"], traveler, "confirmed")

    # Three requests: one accepted after a second, one declined after two, one left unanswered.
    requests = [_ask(gateway, asked_slot) for _ in range(3)]
    time.sleep(1)
    accepted = gateway.post(f"/api/v1/booking-requests/{requests[0]}/accept", headers=provider)
    assert accepted.status_code == 200, accepted.text
    time.sleep(1)
    declined = gateway.post(f"/api/v1/booking-requests/{requests[1]}/decline", json={}, headers=provider)
    assert declined.status_code == 200, declined.text
    waits = [
        (
            datetime.fromisoformat(answer["responded_at"]) - datetime.fromisoformat(answer["requested_at"])
        ).total_seconds()
        for answer in (accepted.json(), declined.json())
    ]
    assert waits[0] >= 1
    assert waits[1] >= 2

    _once_equal(
        lambda: _figures(_report(gateway, admin, listing_id=instant)),
        {
            "views": VIEWS,
            "holds": 4,
            "bookings": 3,
            "paid": 2,
            "confirmed": 2,
            "hold_rate": "0.5714",
            "booking_rate": "0.7500",
            "payment_rate": "0.6667",
            "confirmation_rate": "1.0000",
            "requests": 0,
            "accepted": 0,
            "acceptance_rate": None,
            "responses": 0,
            "response_median_seconds": None,
            "response_p90_seconds": None,
        },
    )
    # The accepted request holds its seats and makes a booking, waiting for payment.
    counted = ("views", "holds", "bookings", "paid", "requests", "accepted", "acceptance_rate", "responses")
    _once_equal(
        lambda: {step: _report(gateway, admin, listing_id=asked_listing)["total"][step] for step in counted},
        dict(zip(counted, (0, 1, 1, 0, 3, 1, "0.3333", 2), strict=True)),
    )
    asked = _report(gateway, admin, listing_id=asked_listing)["total"]
    assert asked["response_median_seconds"] == pytest.approx(percentile(waits, 0.5), abs=1e-3)
    assert asked["response_p90_seconds"] == pytest.approx(percentile(waits, 0.9), abs=1e-3)

    by_listing = _report(gateway, admin, provider_id=provider_id, group_by="listing")
    assert {group["group"] for group in by_listing["groups"]} == {instant, asked_listing}
    whole = by_listing["total"]
    assert [whole[step] for step in ("views", "holds", "bookings", "paid", "confirmed", "requests", "accepted")] == [
        VIEWS,
        5,
        4,
        2,
        2,
        3,
        1,
    ]
    assert Decimal(whole["hold_rate"]) == Decimal("0.7143")

    # Replaying inventory's and booking's topics from the start into an empty schema gives the
    # same figures, in every grouping.
    groupings = ("day", "week", "month", "listing", "provider")
    before = [_report(gateway, admin, provider_id=provider_id, group_by=group_by) for group_by in groupings]
    assert asyncio.run(_replay_into_an_empty_schema(database_url, bootstrap_servers)) > 20
    after = [_report(gateway, admin, provider_id=provider_id, group_by=group_by) for group_by in groupings]
    assert after == before

    # Only admins read it: the provider is refused at the door.
    assert (
        gateway.get(
            "/api/v1/analytics/conversion", params={"from": "2031-01-01", "to": "2031-01-31"}, headers=provider
        ).status_code
        == 403
    )
