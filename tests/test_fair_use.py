"""Fair use of seats through the gateway: one traveler trying to take a whole slot by holds,
extensions, waitlist entries and requests gets at most one hold of the listing's largest party
per slot, one waitlist entry per day, one open request per slot and five in all; another
traveler can still hold; once the first lets go, nothing of theirs stays held. And a provider
reading a booking never sees the traveler's client secret."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import LISTING, available_seats, listing_with_slot, sign_up, tomorrow
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Rui", "email": "rui@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _hold(gateway: httpx.Client, traveler: dict[str, str], slot_id: str, adults: int) -> httpx.Response:
    return gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": adults}, headers=traveler)


def _seats_become(gateway: httpx.Client, listing_id: str, seats: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while (available := available_seats(gateway, listing_id)) != seats:
        assert time.monotonic() < deadline, f"{available} seats on sale, not {seats}, after {within}s"
        time.sleep(0.2)


def _entry_becomes(gateway: httpx.Client, traveler: dict[str, str], status: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while (entries := gateway.get("/api/v1/waitlist/me", headers=traveler).json()["items"])[0]["status"] != status:
        assert time.monotonic() < deadline, f"the waitlist entry is {entries}, not {status}, after {within}s"
        time.sleep(0.2)


def _request_slots(gateway: httpx.Client, provider: dict[str, str], days: int) -> list[str]:
    """A listing booked on request with a 10:00 slot on each of `days` days: their ids."""
    listing = gateway.post(
        "/api/v1/listings", json=LISTING | {"booking_mode": "request", "title": "Boat trip"}, headers=provider
    )
    assert listing.status_code == 201, listing.text
    listing_id = listing.json()["id"]
    schedule = gateway.post(
        f"/api/v1/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": 50,
            "valid_from": tomorrow().isoformat(),
            "valid_until": (tomorrow() + timedelta(days=days - 1)).isoformat(),
        },
        headers=provider,
    )
    assert schedule.status_code == 201, schedule.text
    return [
        gateway.get(
            f"/api/v1/listings/{listing_id}/availability",
            params={"date": (tomorrow() + timedelta(days=offset)).isoformat()},
        ).json()["slots"][0]["slot_id"]
        for offset in range(days)
    ]


def _error(response: httpx.Response) -> tuple[int, str]:
    body: dict[str, Any] = response.json()
    assert set(body) >= {"status", "error", "error_code", "message", "details", "timestamp", "request_id"}
    return response.status_code, str(body["error_code"])


def test_one_traveler_cannot_take_a_whole_slot_and_others_can_still_hold(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, hoarder, other = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=50, hold_ttl_seconds=120)
    assert gateway.get(f"/api/v1/listings/{listing_id}").json()["max_party_size"] == 20

    # The whole slot in one hold, then in many, at once.
    assert _error(_hold(gateway, hoarder, slot_id, 50)) == (422, "PARTY_TOO_LARGE")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _hold(gateway, hoarder, slot_id, 20), range(8)))
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
    hold = next(answer.json() for answer in answers if answer.status_code == 201)
    assert {_error(answer)[1] for answer in answers if answer.status_code == 409} <= {"HOLD_EXISTS", "HOLD_IN_PROGRESS"}
    second = _hold(gateway, hoarder, slot_id, 1)
    assert _error(second) == (409, "HOLD_EXISTS")
    assert second.json()["details"]["hold_id"] == hold["id"]
    assert available_seats(gateway, listing_id) == 30

    # Extending keeps the one hold, never past the limit from when it was placed.
    extended = gateway.post(f"/api/v1/holds/{hold['id']}/extend", headers=hoarder)
    assert extended.status_code == 200, extended.text
    placed_expiry = datetime.fromisoformat(hold["expires_at"])
    assert datetime.fromisoformat(extended.json()["expires_at"]) <= placed_expiry + timedelta(seconds=3600)

    # One waitlist entry for the day, within the party limit.
    day = tomorrow().isoformat()
    join = {"listing_id": listing_id, "date": day, "party_size": 20}
    too_big = gateway.post("/api/v1/waitlist", json=join | {"party_size": 21}, headers=hoarder)
    assert _error(too_big) == (422, "PARTY_TOO_LARGE")
    assert gateway.post("/api/v1/waitlist", json=join, headers=hoarder).status_code == 201
    again = gateway.post("/api/v1/waitlist", json=join | {"party_size": 5}, headers=hoarder)
    assert _error(again) == (409, "WAITLIST_ENTRY_EXISTS")
    assert again.json()["details"]["entry"]["party_size"] == 20

    # Another traveler still holds.
    theirs = _hold(gateway, other, slot_id, 20)
    assert theirs.status_code == 201, theirs.text
    assert available_seats(gateway, listing_id) == 10

    # Let go: the hoarder's hold goes back on sale; their one waitlist offer holds the seats
    # for the claim window and lapses, and they cannot queue for the day again.
    assert gateway.delete(f"/api/v1/holds/{hold['id']}", headers=hoarder).status_code == 204
    _entry_becomes(gateway, hoarder, "lapsed")
    _seats_become(gateway, listing_id, 30)
    assert _error(gateway.post("/api/v1/waitlist", json=join, headers=hoarder)) == (409, "WAITLIST_ENTRY_EXISTS")
    assert gateway.delete(f"/api/v1/holds/{theirs.json()['id']}", headers=other).status_code == 204
    _seats_become(gateway, listing_id, 50)


def test_one_traveler_has_one_open_request_per_slot_and_five_in_all(gateway: httpx.Client) -> None:
    provider, asker = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    slots = _request_slots(gateway, provider, days=6)

    def ask(slot_id: str, adults: int = 2) -> httpx.Response:
        return gateway.post(
            "/api/v1/booking-requests", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=asker
        )

    assert _error(ask(slots[0], adults=21)) == (422, "PARTY_TOO_LARGE")
    assert ask(slots[0]).status_code == 201
    assert _error(ask(slots[0])) == (409, "REQUEST_EXISTS")
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(ask, slots[1:]))
    assert sorted(answer.status_code for answer in answers) == [201] * 4 + [409]
    assert {answer.json()["error_code"] for answer in answers if answer.status_code == 409} == {
        "TOO_MANY_OPEN_REQUESTS"
    }
    open_requests = gateway.get("/api/v1/booking-requests", headers=asker).json()["items"]
    assert len(open_requests) == 5
    assert len(gateway.get("/api/v1/booking-requests", headers=provider).json()["items"]) == 5


def test_a_provider_reading_a_booking_never_sees_the_client_secret(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, title=f"Tram tour {uuid.uuid4().hex[:6]}")
    made = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": 2, "contact": CONTACT}, headers=traveler
    )
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["payment"]["client_secret"], "the traveler pays with it"

    as_traveler = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    assert as_traveler["payment"]["client_secret"] == booking["payment"]["client_secret"]
    as_provider = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=provider)
    assert as_provider.status_code == 200, as_provider.text
    assert as_provider.json()["payment"]["client_secret"] is None
    assert as_provider.json()["payment"]["payment_intent_id"] == booking["payment"]["payment_intent_id"]
    listed = gateway.get("/api/v1/bookings", headers=provider).json()["items"]
    assert [item["payment"]["client_secret"] for item in listed if item["id"] == booking["id"]] == [None]
    assert booking["payment"]["client_secret"] not in as_provider.text
