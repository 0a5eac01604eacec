"""Credits through the gateway: a provider's cancellation leaves the traveler a credit they see
at GET /credits, spend on their next booking (the card pays the rest at localstripe) and get
back as credit when that booking is refunded; credit that covers a booking pays it with no
card at all, confirmed like a paid one."""

import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Rui", "email": "rui@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _book(gateway: httpx.Client, provider: dict[str, str], traveler: dict[str, str], **body: Any) -> dict[str, Any]:
    """A slot of a new listing (40.00 EUR a person, 10 % tax) five days out, booked for `body`."""
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=5))
    created = gateway.post("/api/v1/bookings", json={"slot_id": slot_id, "contact": CONTACT} | body, headers=traveler)
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    return booking


def _paid(platform: PlatformPorts, gateway: httpx.Client, traveler: dict[str, str], booking: dict[str, Any]) -> None:
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded", paid.text
    wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _credit_from_a_cancellation(
    platform: PlatformPorts, gateway: httpx.Client, provider: dict[str, str], traveler: dict[str, str], **cancel: Any
) -> None:
    booking = _book(gateway, provider, traveler, adults=2)
    _paid(platform, gateway, traveler, booking)
    cancelled = gateway.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "the boat is broken"} | cancel, headers=provider
    )
    assert cancelled.status_code == 200, cancelled.text


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def _credits_once(
    gateway: httpx.Client, traveler: dict[str, str], available: str, within: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    credits: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = gateway.get("/api/v1/credits", headers=traveler)
        assert answer.status_code == 200, answer.text
        credits = answer.json()
        if [balance["available"] for balance in credits["balances"]] == [available]:
            return credits
        time.sleep(0.2)
    raise AssertionError(f"the credit is {credits}, not {available} available")


def test_a_provider_cancellations_credit_is_shown_and_spent_on_the_next_booking_with_the_card_for_the_rest(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _credit_from_a_cancellation(platform, gateway, provider, traveler)

    credits = _credits_once(gateway, traveler, "50.00")
    assert credits["balances"] == [{"currency": "EUR", "available": "50.00", "reserved": "0.00"}]
    assert [(item["kind"], item["amount"]) for item in credits["items"]] == [("granted", "50.00")]
    assert gateway.get("/api/v1/credits", headers=provider).status_code == 403

    # Two adults: 88.00, of which the credit pays 50.00 and the card 38.00.
    booking = _book(gateway, provider, traveler, adults=2, use_credit=True)
    assert (booking["total"], booking["amount_due_now"]) == ("88.00", "88.00")
    assert booking["credit_used"] == {"amount": "50.00", "currency": "EUR"}
    intent = _intent(platform, booking["payment"]["payment_intent_id"])
    assert intent["amount"] == 3800
    assert gateway.get("/api/v1/credits", headers=traveler).json()["balances"][0]["reserved"] == "50.00"

    _paid(platform, gateway, traveler, booking)

    credits = _credits_once(gateway, traveler, "0.00")
    assert credits["balances"] == [{"currency": "EUR", "available": "0.00", "reserved": "0.00"}]
    assert [(item["kind"], item["amount"], item["booking_id"]) for item in credits["items"][:2]] == [
        ("spent", "50.00", booking["id"]),
        ("reserved", "50.00", booking["id"]),
    ]
    shown = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    assert shown["credit_used"] == {"amount": "50.00", "currency": "EUR"}

    # Cancelled by its provider in turn: the credit part comes back as credit (with a new
    # credit), and the card part to the card.
    cancelled = gateway.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "storm"}, headers=provider)
    assert cancelled.status_code == 200, cancelled.text
    credits = _credits_once(gateway, traveler, "100.00")
    assert sorted((item["kind"], item["amount"]) for item in credits["items"][:2]) == [
        ("granted", "50.00"),
        ("refunded", "50.00"),
    ]
    wait_for_status(gateway, booking["id"], traveler, "refunded")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _intent(platform, intent["id"])["latest_charge"]["amount_refunded"] != 3800:
        time.sleep(0.2)
    assert _intent(platform, intent["id"])["latest_charge"]["amount_refunded"] == 3800


def test_a_booking_the_credit_covers_is_confirmed_with_no_card(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _credit_from_a_cancellation(platform, gateway, provider, traveler, provider_no_show=True)
    _credits_once(gateway, traveler, "100.00")

    # One adult: 44.00, all of it credit.
    booking = _book(gateway, provider, traveler, adults=1, use_credit=True)

    assert booking["payment"] == {"provider": "stripe", "payment_intent_id": None, "client_secret": None}
    assert booking["credit_used"] == {"amount": "44.00", "currency": "EUR"}
    confirmed = wait_for_status(gateway, booking["id"], traveler, "confirmed")
    assert confirmed["credit_used"] == {"amount": "44.00", "currency": "EUR"}
    credits = _credits_once(gateway, traveler, "56.00")
    assert [item["kind"] for item in credits["items"][:2]] == ["spent", "reserved"]
    assert Decimal(credits["balances"][0]["reserved"]) == 0
