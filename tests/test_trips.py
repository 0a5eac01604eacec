"""A traveler's trip through the gateway: three days with an instant tour, a dinner booked on
request, a partner's hotel and a day an expert plans; the expert's part approved, one checkout
books what can be booked and links the hotel; as the provider accepts the dinner and the
payments land at Stripe, each item's status moves, and the trip becomes confirmed."""

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.flows import LISTING, listing_with_slot, pay, sign_up
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Mara", "email": "mara@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _trip_when(
    gateway: httpx.Client, path: str, traveler: dict[str, str], holds: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The trip once `holds` is true of it: its items follow booking's events a moment later."""
    deadline = time.monotonic() + 30
    trip = _ok(gateway.get(path, headers=traveler))
    while not holds(trip) and time.monotonic() < deadline:
        time.sleep(0.3)
        trip = _ok(gateway.get(path, headers=traveler))
    assert holds(trip), trip
    return trip


def _statuses(trip: dict[str, Any]) -> dict[str, str]:
    return {item["title"]: item["booking_status"] for item in trip["items"]}


def test_a_three_day_trip_is_planned_reviewed_checked_out_paid_and_confirmed(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    guide, restaurant, host = sign_up(gateway, "provider"), sign_up(gateway, "provider"), sign_up(gateway, "provider")
    traveler, expert = sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    first = date.today() + timedelta(days=25)
    _, tour_slot = listing_with_slot(gateway, guide, capacity=6, on=first)
    _, dinner_slot = listing_with_slot(
        gateway, restaurant, capacity=10, on=first + timedelta(days=1), booking_mode="request", category="meal"
    )
    _, sintra_slot = listing_with_slot(gateway, guide, capacity=6, on=first + timedelta(days=2), title="Sintra")
    hotel = _ok(
        gateway.post(
            "/api/v1/listings", json=LISTING | {"booking_mode": "external", "category": "accommodation"}, headers=host
        ),
        201,
    )

    trip = _ok(
        gateway.post(
            "/api/v1/trips",
            json={
                "title": "Lisbon in three days",
                "destinations": ["Lisbon", "Sintra"],
                "start_date": first.isoformat(),
                "end_date": (first + timedelta(days=2)).isoformat(),
                "travelers": 2,
                "experience_type": "culture",
                "timezone": "Europe/Lisbon",
            },
            headers=traveler,
        ),
        201,
    )
    path = f"/api/v1/trips/{trip['id']}"
    for item in (
        {"day": 1, "order": 1, "type": "activity", "title": "River tour", "slot_id": tour_slot},
        {"day": 2, "order": 1, "type": "meal", "title": "Dinner", "slot_id": dinner_slot},
        {
            "day": 1,
            "order": 0,
            "type": "accommodation",
            "title": "Hotel",
            "listing_id": hotel["id"],
            "affiliate_partner": "booking_com",
        },
    ):
        _ok(gateway.post(f"{path}/items", json=item, headers=traveler), 201)

    # Day three goes to an expert, who plans it on the trip itself.
    handoff = _ok(
        gateway.post(
            "/api/v1/expert-handoffs",
            json={
                "expert_id": _ok(gateway.get("/api/v1/auth/me", headers=expert))["id"],
                "description": "Plan our last day",
                "trip_id": trip["id"],
            },
            headers=traveler,
        ),
        201,
    )
    handoff_path = f"/api/v1/expert-handoffs/{handoff['id']}"
    assert _ok(gateway.post(f"{handoff_path}/accept", headers=expert))["trip_id"] == trip["id"]
    for item in (
        {"day": 3, "order": 0, "type": "activity", "title": "Sintra palaces", "slot_id": sintra_slot},
        {"day": 3, "order": 1, "type": "transport", "title": "Train back", "start_time": "18:10"},
    ):
        planned = _ok(gateway.post(f"{path}/items", json=item, headers=expert), 201)
    assert planned["status"] == "expert_review"
    assert {item["title"]: (item["booking_mode"], item["awaiting_approval"]) for item in planned["items"]} == {
        "Hotel": ("external", False),
        "River tour": ("instant", False),
        "Dinner": ("request", False),
        "Sintra palaces": ("instant", True),
        "Train back": ("expert", True),
    }
    _ok(gateway.post(f"{handoff_path}/complete", headers=expert))
    _ok(gateway.post(f"{handoff_path}/approve", headers=traveler))
    reviewed = _ok(gateway.get(path, headers=traveler))
    assert (reviewed["status"], {item["awaiting_approval"] for item in reviewed["items"]}) == ("draft", {False})

    checked_out = _ok(gateway.post(f"{path}/checkout", json={"contact": CONTACT}, headers=traveler))
    checkout = checked_out["checkout"]
    assert sorted(booked["booking"]["listing_title"] for booked in checkout["bookings"]) == sorted(
        [str(LISTING["title"]), "Sintra"]
    )
    [requested] = checkout["requests"]
    assert checkout["unavailable"] == []
    assert checked_out["trip"]["checkout_cart_id"] == checkout["cart_id"]
    items = {item["title"]: item for item in checked_out["trip"]["items"]}
    assert items["Dinner"]["booking_request_id"] == requested["request"]["id"]
    assert {items[title]["booking_id"] for title in ("River tour", "Sintra palaces")} == {
        booked["booking"]["id"] for booked in checkout["bookings"]
    }
    [link] = items["Hotel"]["affiliate_links"]
    assert (link["partner"], link["url"]) == ("booking_com", f"/api/v1/r/{link['code']}")
    assert _statuses(checked_out["trip"]) == {
        "Hotel": "external",
        "River tour": "pending_payment",
        "Dinner": "requested",
        "Sintra palaces": "pending_payment",
        "Train back": "unbooked",
    }
    booked = f"{path}/items/{items['River tour']['id']}"
    refused = gateway.patch(booked, json={"title": "x"}, headers=traveler)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "ITEM_BOOKED")

    stripe = f"http://127.0.0.1:{platform.stripe}"
    assert pay(stripe, checkout["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
    accepted = _ok(gateway.post(f"/api/v1/booking-requests/{requested['request']['id']}/accept", headers=restaurant))
    paid_tours = _trip_when(
        gateway,
        path,
        traveler,
        lambda trip: (
            _statuses(trip)["River tour"] == _statuses(trip)["Sintra palaces"] == "confirmed"
            and _statuses(trip)["Dinner"] == "pending_payment"
        ),
    )
    assert paid_tours["status"] == "draft", "the dinner is not paid yet"
    dinner = _ok(gateway.get(f"/api/v1/bookings/{accepted['booking_id']}", headers=traveler))
    assert pay(stripe, dinner["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"

    confirmed = _trip_when(gateway, path, traveler, lambda trip: trip["status"] == "confirmed")
    assert _statuses(confirmed) == {
        "Hotel": "external",
        "River tour": "confirmed",
        "Dinner": "confirmed",
        "Sintra palaces": "confirmed",
        "Train back": "unbooked",
    }
    dinner_item = next(item for item in confirmed["items"] if item["title"] == "Dinner")
    assert dinner_item["booking_id"] == accepted["booking_id"]
    assert all(
        item["status_changed_at"] for item in confirmed["items"] if item["booking_mode"] in ("instant", "request")
    )
    mine = _ok(gateway.get("/api/v1/trips", headers=traveler))["items"]
    assert [(listed["id"], listed["status"]) for listed in mine] == [(trip["id"], "confirmed")]


def test_a_shared_trip_and_its_calendar_are_read_without_signing_in_and_a_revoked_link_leads_nowhere(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    guide, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    first = date.today() + timedelta(days=20)
    _, tour_slot = listing_with_slot(gateway, guide, capacity=6, on=first)
    trip = _ok(
        gateway.post(
            "/api/v1/trips",
            json={
                "title": "Porto weekend",
                "destinations": ["Porto"],
                "start_date": first.isoformat(),
                "end_date": (first + timedelta(days=1)).isoformat(),
                "travelers": 2,
                "timezone": "Europe/Lisbon",
            },
            headers=traveler,
        ),
        201,
    )
    path = f"/api/v1/trips/{trip['id']}"
    _ok(
        gateway.post(
            f"{path}/items",
            json={"day": 1, "order": 0, "type": "activity", "title": "River tour", "slot_id": tour_slot},
            headers=traveler,
        ),
        201,
    )
    checkout = _ok(gateway.post(f"{path}/checkout", json={"contact": CONTACT}, headers=traveler))["checkout"]
    payment_intent_id = checkout["payment"]["payment_intent_id"]
    assert pay(f"http://127.0.0.1:{platform.stripe}", payment_intent_id, "pm_card_visa").json()["status"] == "succeeded"
    _trip_when(gateway, path, traveler, lambda trip: trip["status"] == "confirmed")

    share = _ok(gateway.post(f"{path}/share", json={"show_prices": False}, headers=traveler), 201)
    shared = gateway.get(f"/api/v1/shared/trips/{share['token']}")  # nobody signed in
    view = _ok(shared)
    assert (view["title"], view["status"]) == ("Porto weekend", "confirmed")
    assert [item["title"] for day in view["days"] for item in day["items"]] == ["River tour"]
    [booked] = checkout["bookings"]
    for private in (CONTACT["email"], CONTACT["name"], payment_intent_id, booked["booking"]["id"], trip["id"]):
        assert private not in shared.text

    feed = _ok(gateway.get(f"{path}/calendar", headers=traveler))
    ics = gateway.get(f"{path}/calendar.ics", params={"token": feed["token"]})  # nobody signed in
    assert ics.status_code == 200, ics.text
    [event] = Calendar.from_ical(ics.content).events
    assert (str(event.summary), event.status) == ("River tour", "CONFIRMED")
    assert isinstance(event.start, datetime)
    assert event.start.date() == first

    assert gateway.delete(f"{path}/share", headers=traveler).status_code == 204
    revoked = gateway.get(f"/api/v1/shared/trips/{share['token']}")
    assert (revoked.status_code, revoked.json()["error_code"]) == (404, "NOT_FOUND")
