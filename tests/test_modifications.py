"""Modifications through the gateway: the new seats are held (and the difference paid) before
the old ones go back; a cheaper change refunds the difference; a change to a fuller slot fails
cleanly, changing and charging nothing; every step is in the booking's history."""

import email
import email.policy
import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import availability, listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Lea", "email": "lea@example.com"}
# The listing's price: 40.00 a person plus 10 % tax.
PER_PERSON = "44.00"


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _another_slot(gateway: httpx.Client, provider: dict[str, str], listing_id: str, on: date, capacity: int) -> str:
    schedule = gateway.post(
        f"/api/v1/listings/{listing_id}/schedules",
        json={
            "start_time": "15:00",
            "duration_minutes": 120,
            "recurrence": "none",
            "capacity": capacity,
            "valid_from": on.isoformat(),
        },
        headers=provider,
    )
    assert schedule.status_code == 201, schedule.text
    return str(_slot(gateway, listing_id, on, "15:00")["slot_id"])


def _slot(gateway: httpx.Client, listing_id: str, on: date, start_time: str) -> dict[str, Any]:
    return next(slot for slot in availability(gateway, listing_id, on) if slot["start_time"] == start_time)


def _paid_booking(
    platform: PlatformPorts, gateway: httpx.Client, traveler: dict[str, str], slot_id: str, adults: int
) -> dict[str, Any]:
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    return wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _modified(
    gateway: httpx.Client, booking_id: str, traveler: dict[str, str], adults: int, within: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    booking: dict[str, Any] = {}
    while time.monotonic() < deadline:
        booking = gateway.get(f"/api/v1/bookings/{booking_id}", headers=traveler).json()
        if booking["adults"] == adults:
            return booking
        time.sleep(0.2)
    raise AssertionError(f"booking {booking_id} was not modified: {booking}")


def _seats(gateway: httpx.Client, listing_id: str, on: date, start_time: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    while _slot(gateway, listing_id, on, start_time)["available"] != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _slot(gateway, listing_id, on, start_time)["available"] == expected


def _history_actions(gateway: httpx.Client, booking_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    history = gateway.get(f"/api/v1/bookings/{booking_id}/history", headers=headers)
    assert history.status_code == 200, history.text
    items: list[dict[str, Any]] = history.json()["items"]
    return items


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def test_a_move_to_a_dearer_slot_charges_the_difference_before_the_old_seats_go_back(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=20)
    listing_id, morning = listing_with_slot(gateway, provider, capacity=4, on=day + timedelta(days=1))
    afternoon = _another_slot(gateway, provider, listing_id, day, capacity=5)
    booking = _paid_booking(platform, gateway, traveler, morning, adults=2)

    answer = gateway.patch(
        f"/api/v1/bookings/{booking['id']}",
        json={"slot_id": afternoon, "adults": 3, "reason": "a friend joins"},
        headers=traveler | {"User-Agent": "trip-app/2.1"},
    )
    assert answer.status_code == 200, answer.text
    change = answer.json()
    assert change["status"] == "pending_payment"
    assert change["difference"] == PER_PERSON
    assert change["total"] == {"amount": "132.00", "currency": "EUR"}
    # Both sets of seats are taken until the change is paid: the old stay the traveler's.
    _seats(gateway, listing_id, day, "15:00", 2)
    _seats(gateway, listing_id, day + timedelta(days=1), "10:00", 2)
    unchanged = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    # Only the traveler who pays the change is shown what completes its payment.
    listed_for = {
        who: gateway.get(f"/api/v1/bookings/{booking['id']}/modifications", headers=headers).json()["items"][0]
        for who, headers in (("traveler", traveler), ("provider", provider))
    }
    assert listed_for["traveler"]["payment"]["client_secret"] == change["payment"]["client_secret"]
    assert listed_for["provider"]["payment"]["client_secret"] is None
    assert (unchanged["slot_id"], unchanged["adults"], unchanged["total"]) == (morning, 2, "88.00")

    paid = pay(f"http://127.0.0.1:{platform.stripe}", change["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["amount"] == 4400

    moved = _modified(gateway, booking["id"], traveler, adults=3)
    assert (moved["status"], moved["slot_id"], moved["seats"], moved["total"]) == ("confirmed", afternoon, 3, "132.00")
    _seats(gateway, listing_id, day + timedelta(days=1), "10:00", 4)
    _seats(gateway, listing_id, day, "15:00", 2)
    changes = gateway.get(f"/api/v1/bookings/{booking['id']}/modifications", headers=traveler).json()["items"]
    assert [(item["status"], item["number"]) for item in changes] == [("applied", 1)]

    history = _history_actions(gateway, booking["id"], traveler)
    actions = [item["action"] for item in history]
    assert actions[-3:] == ["modification_requested", "modification_paid", "modified"]
    requested = history[-3]
    assert requested["actor"]["role"] == "traveler"
    assert requested["reason"] == "a friend joins"
    assert requested["user_agent"] == "trip-app/2.1"
    assert requested["ip"]
    assert requested["changes"]["slot_id"] == {"from": morning, "to": afternoon}
    assert requested["changes"]["adults"] == {"from": 2, "to": 3}
    assert history[-1]["changes"]["total"] == {"from": "88.00", "to": "132.00"}
    # The traveler's calendar event moves: same UID, the next sequence.
    mail = mail_about(platform.mail_http, f"{booking['reference']} changed")
    parsed = email.message_from_string(mail["raw"], policy=email.policy.default)
    invite = next(part for part in parsed.walk() if part.get_content_type() == "text/calendar").get_content()
    assert f"UID:{booking['id']}@travel.example" in invite
    assert "SEQUENCE:1" in invite
    assert "€44.00 more was charged" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The provider sees the change but not where the traveler made it from.
    seen_by_provider = _history_actions(gateway, booking["id"], provider)[-3]
    assert seen_by_provider["ip"] is None
    assert seen_by_provider["user_agent"] is None


def test_a_smaller_party_gets_the_difference_refunded(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=21)
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4, on=day)
    booking = _paid_booking(platform, gateway, traveler, slot_id, adults=2)

    answer = gateway.patch(f"/api/v1/bookings/{booking['id']}", json={"adults": 1}, headers=traveler)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["difference"], answer.json()["payment"]) == (
        "confirming",
        "-44.00",
        None,
    )

    moved = _modified(gateway, booking["id"], traveler, adults=1)
    assert (moved["status"], moved["seats"], moved["total"]) == ("confirmed", 1, "44.00")
    _seats(gateway, listing_id, day, "10:00", 3)
    deadline = time.monotonic() + 20
    refunded = 0
    while time.monotonic() < deadline and refunded != 4400:
        refunded = int(_intent(platform, booking["payment"]["payment_intent_id"])["latest_charge"]["amount_refunded"])
        time.sleep(0.2)
    assert refunded == 4400


def test_a_move_to_a_fuller_slot_fails_cleanly_and_charges_nothing(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler, other = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=22)
    listing_id, morning = listing_with_slot(gateway, provider, capacity=4, on=day)
    afternoon = _another_slot(gateway, provider, listing_id, day, capacity=3)
    booking = _paid_booking(platform, gateway, traveler, morning, adults=2)
    taken = gateway.post("/api/v1/holds", json={"slot_id": afternoon, "adults": 2}, headers=other)
    assert taken.status_code == 201, taken.text
    history_before = _history_actions(gateway, booking["id"], traveler)

    refused = gateway.patch(f"/api/v1/bookings/{booking['id']}", json={"slot_id": afternoon}, headers=traveler)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["error_code"] == "SOLD_OUT"
    assert refused.json()["details"]["available"] == 1

    after = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    assert {key: after[key] for key in ("status", "slot_id", "adults", "total")} == {
        key: booking[key] for key in ("status", "slot_id", "adults", "total")
    }
    assert _slot(gateway, listing_id, day, "10:00")["available"] == 2
    assert _slot(gateway, listing_id, day, "15:00")["available"] == 1
    assert gateway.get(f"/api/v1/bookings/{booking['id']}/modifications", headers=traveler).json()["items"] == []
    assert _history_actions(gateway, booking["id"], traveler) == history_before


def test_only_the_traveler_changes_a_confirmed_booking(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler, stranger = (
        sign_up(gateway, "provider"),
        sign_up(gateway, "traveler"),
        sign_up(gateway, "traveler"),
    )
    day = date.today() + timedelta(days=23)
    _, slot_id = listing_with_slot(gateway, provider, capacity=6, on=day)
    booking = _paid_booking(platform, gateway, traveler, slot_id, adults=2)
    path = f"/api/v1/bookings/{booking['id']}"

    assert gateway.patch(path, json={"adults": 3}, headers=stranger).status_code == 404
    assert gateway.patch(path, json={"adults": 3}, headers=provider).status_code == 403
    same = gateway.patch(path, json={"adults": 2}, headers=traveler)
    assert (same.status_code, same.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert gateway.patch(path, json={}, headers=traveler).status_code == 422

    unpaid = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": 1, "contact": CONTACT}, headers=traveler
    ).json()
    not_yet = gateway.patch(f"/api/v1/bookings/{unpaid['id']}", json={"adults": 2}, headers=traveler)
    assert (not_yet.status_code, not_yet.json()["error_code"]) == (409, "BOOKING_NOT_MODIFIABLE")
