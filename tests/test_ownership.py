"""Ownership of every kind of thing, through the gateway: each role tries the others' listings,
holds, bookings, carts, requests, waitlist entries, handoffs, trips, grants, saved cards,
earnings and admin routes. A thing that exists but is not the caller's is 404 (its existence is not told);
a route of another role is 403; and what a caller lists never holds another's things."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, sign_in, sign_up, tomorrow
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Ana", "email": "ana@example.com"}


@dataclass
class World:
    """Two of each role; the first traveler's things are on the first provider's listings."""

    ids: dict[str, str]
    callers: dict[str, dict[str, str]]


def _created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def _id_of(gateway: httpx.Client, caller: dict[str, str]) -> str:
    return str(_created(gateway.get("/api/v1/auth/me", headers=caller))["id"])


@pytest.fixture(scope="module")
def world(platform: PlatformPorts) -> World:
    gateway = httpx.Client(base_url=platform.gateway_url, timeout=30)
    callers = {
        role: sign_up(gateway, role.rstrip("2"))
        for role in ("traveler", "traveler2", "provider", "provider2", "expert", "expert2")
    }
    callers["admin"] = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    traveler, provider = callers["traveler"], callers["provider"]
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=10)
    _, request_slot = listing_with_slot(gateway, provider, capacity=10, booking_mode="request")

    hold = _created(gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler))
    # A traveler holds a slot once at a time: the booking is made on a slot of its own.
    _, booked_slot = listing_with_slot(gateway, provider, capacity=10)
    booked_hold = _created(gateway.post("/api/v1/holds", json={"slot_id": booked_slot, "adults": 1}, headers=traveler))
    booking = _created(
        gateway.post("/api/v1/bookings", json={"hold_id": booked_hold["id"], "contact": CONTACT}, headers=traveler)
    )
    cart = _created(gateway.post("/api/v1/carts", headers=traveler))
    item = _created(
        gateway.post(
            f"/api/v1/carts/{cart['id']}/items",
            json={"kind": "instant", "slot_id": slot_id, "adults": 1},
            headers=traveler,
        )
    )
    asked = _created(
        gateway.post(
            "/api/v1/booking-requests",
            json={"slot_id": request_slot, "adults": 2, "message": "Two of us", "contact": CONTACT},
            headers=traveler,
        )
    )
    waiting = _created(
        gateway.post(
            "/api/v1/waitlist",
            json={"listing_id": listing_id, "date": tomorrow().isoformat(), "party_size": 2},
            headers=traveler,
        )
    )
    expert_id = _id_of(gateway, callers["expert"])
    handoff = _created(
        gateway.post(
            "/api/v1/expert-handoffs",
            json={"expert_id": expert_id, "description": "Three days in Lisbon"},
            headers=traveler,
        )
    )
    grant = _created(
        gateway.post(
            "/api/v1/expert-grants",
            json={"expert_id": expert_id, "spending_limit": {"amount": "300.00", "currency": "EUR"}},
            headers=traveler,
        )
    )
    card = _created(gateway.post("/api/v1/payments/methods", json={"payment_method": "pm_card_visa"}, headers=traveler))
    day = tomorrow().isoformat()
    trip = _created(
        gateway.post("/api/v1/trips", json={"title": "Lisbon", "start_date": day, "end_date": day}, headers=traveler)
    )
    planned = _created(
        gateway.post(
            f"/api/v1/trips/{trip['id']}/items", json={"day": 1, "type": "meal", "title": "Dinner"}, headers=traveler
        )
    )
    ids = {
        "listing": listing_id,
        "slot": slot_id,
        "day": tomorrow().isoformat(),
        "hold": hold["id"],
        "booking": booking["id"],
        "reference": booking["reference"],
        "cart": cart["id"],
        "item": item["id"],
        "request": asked["id"],
        "waitlist": waiting["id"],
        "handoff": handoff["id"],
        "grant": grant["id"],
        "card": card["id"],
        "expert": expert_id,
        "trip": trip["id"],
        "trip_item": planned["items"][0]["id"],
    }
    return World(ids=ids, callers=callers)


@pytest.fixture(scope="module")
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


# (who, method, path, body, status): someone else's thing (404), or a route of another role (403).
NOT_YOURS = [
    # a provider's listing, by another provider
    ("provider2", "PATCH", "/listings/{listing}", {"title": "Mine now"}, 404),
    ("provider2", "DELETE", "/listings/{listing}", None, 404),
    ("provider2", "GET", "/listings/{listing}/schedules", None, 404),
    (
        "provider2",
        "POST",
        "/listings/{listing}/schedules",
        {"start_time": "09:00", "duration_minutes": 60, "recurrence": "none", "capacity": 5, "valid_from": "{day}"},
        404,
    ),
    ("provider2", "GET", "/listings/{listing}/slots/{slot}", None, 404),
    ("provider2", "PATCH", "/listings/{listing}/slots/{slot}", {"capacity": 1}, 404),
    ("provider2", "GET", "/listings/{listing}/days/{day}", None, 404),
    (
        "provider2",
        "POST",
        "/listings/{listing}/blackouts",
        {"start_date": "{day}", "end_date": "{day}", "reason": "closed"},
        404,
    ),
    ("provider2", "GET", "/listings/{listing}/blackouts", None, 404),
    # ... and by the other roles, whose role may not change listings at all
    ("traveler", "GET", "/listings/{listing}/blackouts", None, 403),
    ("traveler", "PATCH", "/listings/{listing}", {"title": "Mine now"}, 403),
    ("expert", "DELETE", "/listings/{listing}", None, 403),
    # a traveler's hold
    ("traveler2", "GET", "/holds/{hold}", None, 404),
    ("traveler2", "POST", "/holds/{hold}/extend", None, 404),
    ("traveler2", "DELETE", "/holds/{hold}", None, 404),
    ("provider", "GET", "/holds/{hold}", None, 403),
    # a traveler's booking, by another traveler, another provider and an expert
    ("traveler2", "GET", "/bookings/{booking}", None, 404),
    ("traveler2", "GET", "/bookings/reference/{reference}", None, 404),
    ("traveler2", "PATCH", "/bookings/{booking}", {"adults": 2}, 404),
    ("traveler2", "GET", "/bookings/{booking}/history", None, 404),
    ("traveler2", "GET", "/bookings/{booking}/modifications", None, 404),
    ("traveler2", "POST", "/bookings/{booking}/cancel", {"reason": "not mine"}, 404),
    ("traveler2", "POST", "/bookings/{booking}/pay-balance", None, 404),
    ("provider2", "GET", "/bookings/{booking}", None, 404),
    ("provider2", "POST", "/bookings/{booking}/cancel", {"reason": "not mine"}, 404),
    ("provider2", "POST", "/bookings/{booking}/no-show", None, 404),
    ("expert", "GET", "/bookings/{booking}", None, 404),
    ("expert2", "POST", "/bookings/{booking}/cancel", {"reason": "not mine"}, 404),
    ("provider", "POST", "/bookings/{booking}/pay-balance", None, 403),
    # a traveler's cart
    ("traveler2", "GET", "/carts/{cart}", None, 404),
    ("traveler2", "POST", "/carts/{cart}/items", {"kind": "instant", "slot_id": "{slot}", "adults": 1}, 404),
    ("traveler2", "DELETE", "/carts/{cart}/items/{item}", None, 404),
    ("traveler2", "POST", "/carts/{cart}/checkout", {"contact": CONTACT}, 404),
    ("provider", "GET", "/carts/{cart}", None, 403),
    # a traveler's request to book, by another traveler and by a provider not its listing's
    ("traveler2", "GET", "/booking-requests/{request}", None, 404),
    ("traveler2", "POST", "/booking-requests/{request}/cancel", None, 404),
    ("traveler2", "POST", "/booking-requests/{request}/accept-counter", None, 404),
    ("provider2", "GET", "/booking-requests/{request}", None, 404),
    ("provider2", "POST", "/booking-requests/{request}/accept", None, 404),
    ("provider2", "POST", "/booking-requests/{request}/decline", {"reason": "no"}, 404),
    (
        "provider2",
        "POST",
        "/booking-requests/{request}/counter-offer",
        {"price": "30.00", "message": "a little less?"},
        404,
    ),
    ("traveler", "POST", "/booking-requests/{request}/accept", None, 403),
    # a traveler's handoff, by another expert and another traveler
    ("expert2", "GET", "/expert-handoffs/{handoff}", None, 404),
    ("expert2", "POST", "/expert-handoffs/{handoff}/accept", None, 404),
    ("expert2", "POST", "/expert-handoffs/{handoff}/decline", None, 404),
    ("traveler2", "GET", "/expert-handoffs/{handoff}", None, 404),
    ("traveler2", "POST", "/expert-handoffs/{handoff}/cancel", None, 404),
    ("traveler2", "POST", "/expert-handoffs/{handoff}/approve", None, 404),
    ("traveler", "POST", "/expert-handoffs/{handoff}/accept", None, 403),
    # a traveler's trip, by another traveler, an expert not on its handoff and a provider
    ("traveler2", "GET", "/trips/{trip}", None, 404),
    ("traveler2", "PATCH", "/trips/{trip}", {"title": "Mine now"}, 404),
    ("traveler2", "DELETE", "/trips/{trip}", None, 404),
    ("traveler2", "POST", "/trips/{trip}/items", {"day": 1, "type": "meal", "title": "x"}, 404),
    ("traveler2", "PATCH", "/trips/{trip}/items/{trip_item}", {"title": "x"}, 404),
    ("traveler2", "DELETE", "/trips/{trip}/items/{trip_item}", None, 404),
    ("traveler2", "POST", "/trips/{trip}/checkout", {"contact": CONTACT}, 404),
    ("expert", "GET", "/trips/{trip}", None, 404),
    ("expert", "POST", "/trips/{trip}/items", {"day": 1, "type": "meal", "title": "x"}, 404),
    ("expert", "PATCH", "/trips/{trip}", {"title": "Mine now"}, 403),
    ("provider", "GET", "/trips/{trip}", None, 403),
    # a traveler's grant to an expert, and their saved card
    ("traveler2", "DELETE", "/expert-grants/{grant}", None, 404),
    ("traveler2", "DELETE", "/payments/methods/{card}", None, 404),
    ("expert", "DELETE", "/payments/methods/{card}", None, 403),
    # admin routes
    ("traveler", "GET", "/admin/fees", None, 403),
    ("provider", "POST", "/admin/fees", {"scope": "global", "percentage": "1"}, 403),
    ("expert", "GET", "/admin/waitlist", None, 403),
    ("provider", "PATCH", "/admin/waitlist/{waitlist}", {"priority": 1}, 403),
    ("traveler", "GET", "/admin/experts/{expert}", None, 403),
    ("expert", "PUT", "/admin/experts/{expert}", {"personal_assistant": True}, 403),
    ("provider", "POST", "/admin/blackouts", {"start_date": "{day}", "end_date": "{day}", "reason": "closed"}, 403),
    ("provider", "GET", "/admin/blackouts", None, 403),
    ("provider", "GET", "/admin/reconciliation", None, 403),
    # a provider's money
    ("traveler", "GET", "/providers/me/earnings", None, 403),
    ("traveler", "GET", "/analytics/revenue", None, 403),
]


def _filled(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: _filled(value, ids) for key, value in template.items()}
    return template


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    NOT_YOURS,
    ids=[f"{who} {method} {path}" for who, method, path, _, _ in NOT_YOURS],
)
def test_each_role_is_refused_the_others_things(
    gateway: httpx.Client, world: World, who: str, method: str, path: str, body: Any, status: int
) -> None:
    answer = gateway.request(
        method, "/api/v1" + _filled(path, world.ids), json=_filled(body, world.ids), headers=world.callers[who]
    )

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == status


def test_the_owners_still_reach_their_own_things(gateway: httpx.Client, world: World) -> None:
    ids, callers = world.ids, world.callers
    mine = [
        ("traveler", f"/holds/{ids['hold']}"),
        ("traveler", f"/bookings/{ids['booking']}"),
        ("traveler", f"/bookings/reference/{ids['reference']}"),
        ("provider", f"/bookings/{ids['booking']}"),
        ("traveler", f"/carts/{ids['cart']}"),
        ("traveler", f"/trips/{ids['trip']}"),
        ("traveler", f"/booking-requests/{ids['request']}"),
        ("provider", f"/booking-requests/{ids['request']}"),
        ("traveler", f"/expert-handoffs/{ids['handoff']}"),
        ("expert", f"/expert-handoffs/{ids['handoff']}"),
        ("provider", f"/listings/{ids['listing']}/slots/{ids['slot']}"),
        ("admin", f"/bookings/{ids['booking']}"),
    ]
    for who, path in mine:
        answer = gateway.get("/api/v1" + path, headers=callers[who])
        assert answer.status_code == 200, (who, path, answer.text)


def test_what_a_caller_lists_never_holds_anothers_things(gateway: httpx.Client, world: World) -> None:
    ids, callers = world.ids, world.callers

    def listed(who: str, path: str) -> set[str]:
        answer = gateway.get("/api/v1" + path, headers=callers[who])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items = body["items"] if isinstance(body, dict) else body
        return {str(item["id"]) for item in items}

    assert ids["booking"] in listed("traveler", "/bookings")
    assert ids["booking"] not in listed("traveler2", "/bookings")
    assert ids["booking"] not in listed("provider2", "/bookings")
    assert ids["booking"] not in listed("expert", "/bookings")
    assert ids["request"] not in listed("traveler2", "/booking-requests")
    assert ids["request"] not in listed("provider2", "/booking-requests")
    assert ids["waitlist"] not in listed("traveler2", "/waitlist/me")
    assert ids["handoff"] not in listed("expert2", "/expert-handoffs")
    assert ids["handoff"] not in listed("traveler2", "/expert-handoffs")
    assert ids["trip"] in listed("traveler", "/trips")
    assert ids["trip"] not in listed("traveler2", "/trips")
    assert ids["grant"] not in listed("expert2", "/expert-grants")
    assert ids["grant"] not in listed("traveler2", "/expert-grants")
    assert ids["card"] not in listed("traveler2", "/payments/methods")
