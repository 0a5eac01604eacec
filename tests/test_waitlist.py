"""The waitlist through the gateway: when a sold-out day's seats come free, the first waiting
traveler whose party fits is offered a hold for the claim window; an offer left unclaimed
moves on to the next, who books from it."""

import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import available_seats, listing_with_slot, pay, sign_up, tomorrow, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Ines", "email": "ines@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _entry(gateway: httpx.Client, traveler: dict[str, str], status: str, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        entries = gateway.get("/api/v1/waitlist/me", headers=traveler).json()["items"]
        if entries and entries[0]["status"] == status:
            return entries[0]
        time.sleep(0.2)
    raise AssertionError(f"the waitlist entry is {entries}, not {status}, after {within}s")


def _join(
    gateway: httpx.Client, traveler: dict[str, str], listing_id: str, party_size: int, on: date
) -> httpx.Response:
    return gateway.post(
        "/api/v1/waitlist",
        json={"listing_id": listing_id, "date": on.isoformat(), "party_size": party_size},
        headers=traveler,
    )


def test_freed_seats_are_offered_down_the_waitlist_until_one_is_claimed(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    stripe_base = f"http://127.0.0.1:{platform.stripe}"
    provider = sign_up(gateway, "provider")
    first, second, third = (sign_up(gateway, "traveler") for _ in range(3))
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=2)
    booked = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": 2, "contact": CONTACT}, headers=first
    ).json()
    pay(stripe_base, booked["payment"]["payment_intent_id"], "pm_card_visa")
    wait_for_status(gateway, booked["id"], first, "confirmed")
    assert available_seats(gateway, listing_id) == 0

    assert _join(gateway, second, listing_id, 2, tomorrow()).status_code == 201
    joined = _join(gateway, third, listing_id, 1, tomorrow())
    assert joined.status_code == 201, joined.text
    assert (joined.json()["status"], joined.json()["hold_id"]) == ("waiting", None)

    # The seats come free: the first in line is offered them, held for the claim window.
    assert (
        gateway.post(f"/api/v1/bookings/{booked['id']}/cancel", json={"reason": "ill"}, headers=first).status_code
        == 200
    )
    offered = _entry(gateway, second, "offered")
    assert offered["hold_id"]
    assert offered["offer_expires_at"]
    assert available_seats(gateway, listing_id) == 0, "the offer holds the seats"
    assert _entry(gateway, third, "waiting")

    # Left unclaimed, the offer lapses and moves on to the next whose party fits.
    assert _entry(gateway, second, "lapsed", within=30)
    offer = _entry(gateway, third, "offered", within=30)
    claimed = gateway.post("/api/v1/bookings", json={"hold_id": offer["hold_id"], "contact": CONTACT}, headers=third)
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["seats"] == 1
    _entry(gateway, third, "claimed")
    pay(stripe_base, claimed.json()["payment"]["payment_intent_id"], "pm_card_visa")
    wait_for_status(gateway, claimed.json()["id"], third, "confirmed")
    assert available_seats(gateway, listing_id) == 1


def test_joining_a_waitlist_is_checked(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, _ = listing_with_slot(gateway, provider, capacity=2)
    past = _join(gateway, traveler, listing_id, 1, date.today() - timedelta(days=2))
    assert (past.status_code, past.json()["error_code"]) == (409, "DAY_PASSED")
    unknown = _join(gateway, traveler, "7d8f61a4-3c55-4cf2-b7a0-111111111111", 1, tomorrow())
    assert unknown.status_code == 404
    too_many = _join(gateway, traveler, listing_id, 0, tomorrow())
    assert (too_many.status_code, too_many.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert _join(gateway, provider, listing_id, 1, tomorrow()).status_code == 403
    assert gateway.get("/api/v1/waitlist/me", headers=traveler).json()["items"] == []
