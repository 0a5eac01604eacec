"""A provider's earnings through the gateway, read from the payment ledger: a paid instant
booking shows its gross sale, the fee the rules give (a tour: the global 15 %) and the net
owed; a traveler's cancellation far enough ahead refunds everything and the net is back to 0.
Only providers see earnings, and only their own."""

import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _earnings_once(
    gateway: httpx.Client, provider: dict[str, str], expected: list[dict[str, str]], within: float = 20
) -> list[dict[str, str]]:
    """The provider's earnings once they are `expected` (the ledger is written by the webhook
    and by the refund after it), or as they are when time is up."""
    deadline = time.monotonic() + within
    while True:
        answer = gateway.get("/api/v1/providers/me/earnings", headers=provider)
        assert answer.status_code == 200, answer.text
        currencies: list[dict[str, str]] = answer.json()["currencies"]
        if currencies == expected or time.monotonic() > deadline:
            return currencies
        time.sleep(0.3)


def _paid_booking(platform: PlatformPorts, gateway: httpx.Client, traveler: dict[str, str], slot_id: str) -> Any:
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 2, "contact": {"name": "Rui", "email": "rui@example.com"}},
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    return wait_for_status(gateway, booking["id"], traveler, "confirmed")


def test_a_paid_booking_shows_in_the_providers_earnings_and_a_full_refund_takes_it_back_to_zero(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=20))
    assert _earnings_once(gateway, provider, [], within=0) == []

    booking = _paid_booking(platform, gateway, traveler, slot_id)
    sold = {"currency": "EUR", "gross_sales": "88.00", "platform_fees": "13.20", "refunds": "0.00", "net": "74.80"}
    assert _earnings_once(gateway, provider, [sold]) == [sold]

    cancelled = gateway.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "plans changed"}, headers=traveler
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refund"] == {"amount": "88.00", "currency": "EUR"}
    refunded = {"currency": "EUR", "gross_sales": "88.00", "platform_fees": "0.00", "refunds": "88.00", "net": "0.00"}
    assert _earnings_once(gateway, provider, [refunded]) == [refunded]

    today = date.today()
    before = gateway.get(
        "/api/v1/providers/me/earnings",
        params={"from": (today - timedelta(days=9)).isoformat(), "to": (today - timedelta(days=2)).isoformat()},
        headers=provider,
    )
    assert (before.status_code, before.json()["currencies"]) == (200, [])


def test_only_providers_see_earnings_and_each_only_their_own(platform: PlatformPorts, gateway: httpx.Client) -> None:
    traveler = sign_up(gateway, "traveler")
    refused = gateway.get("/api/v1/providers/me/earnings", headers=traveler)
    assert (refused.status_code, refused.json()["status"]) == (403, 403)

    seller, other = sign_up(gateway, "provider"), sign_up(gateway, "provider")
    _, slot_id = listing_with_slot(gateway, seller, capacity=4)
    _paid_booking(platform, gateway, traveler, slot_id)
    sold = {"currency": "EUR", "gross_sales": "88.00", "platform_fees": "13.20", "refunds": "0.00", "net": "74.80"}
    assert _earnings_once(gateway, seller, [sold]) == [sold]
    assert gateway.get("/api/v1/providers/me/earnings", headers=other).json()["currencies"] == []
