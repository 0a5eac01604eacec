"""Stripe Connect through the gateway, on the whole platform (payment talks to Stripe through the
Connect test double in front of localstripe): a provider onboards and Stripe verifies them; a
traveler books and pays, by a destination charge to the provider's account with the platform's
fee; the booking is confirmed and the provider is paid out at once (verified), and their
earnings and their payouts agree."""

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


@pytest.fixture
def stripe_double(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{platform.stripe_connect_double}", timeout=30)


def _payouts(gateway: httpx.Client, provider: dict[str, str]) -> dict[str, Any]:
    answer = gateway.get("/api/v1/providers/me/payouts", headers=provider)
    assert answer.status_code == 200, answer.text
    payouts: dict[str, Any] = answer.json()
    return payouts


def _paid_out_once(gateway: httpx.Client, provider: dict[str, str], within: float = 30) -> dict[str, Any]:
    """The provider's payouts once one is paid (the job runs every couple of seconds)."""
    deadline = time.monotonic() + within
    while True:
        payouts = _payouts(gateway, provider)
        if any(payout["status"] == "paid" for payout in payouts["payouts"]) or time.monotonic() > deadline:
            return payouts
        time.sleep(0.3)


def test_a_verified_provider_is_paid_out_at_confirmation_and_earnings_and_payouts_agree(
    platform: PlatformPorts, gateway: httpx.Client, stripe_double: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    onboarding = gateway.post("/api/v1/providers/me/payouts/onboarding", headers=provider)
    assert onboarding.status_code == 200, onboarding.text
    account_id = onboarding.json()["account_id"]
    assert gateway.post("/api/v1/providers/me/payouts/onboarding", headers=provider).json()["account_id"] == account_id

    # Stripe verifies the provider and tells payment with a signed account.updated.
    verified = stripe_double.post(f"/_double/accounts/{account_id}/verify")
    assert verified.status_code == 200, verified.text
    assert [delivery["status"] for delivery in verified.json()["deliveries"]] == [200]
    account = _payouts(gateway, provider)["account"]
    assert (account["account_id"], account["verified"], account["payouts_enabled"]) == (account_id, True, True)

    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=20))
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 2, "contact": {"name": "Rui", "email": "rui@example.com"}},
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    intent_id = booking["payment"]["payment_intent_id"]
    intent = stripe_double.get(f"/v1/payment_intents/{intent_id}", auth=("sk_test_e2e", "")).json()
    assert intent["transfer_data"]["destination"] == account_id
    assert intent["application_fee_amount"] == 1320, "a tour: the global 15 % of 88.00"

    paid = pay(f"http://127.0.0.1:{platform.stripe}", intent_id, "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")

    payouts = _paid_out_once(gateway, provider)
    assert [(payout["booking_id"], payout["amount"], payout["status"]) for payout in payouts["payouts"]] == [
        (booking["id"], "74.80", "paid")
    ]
    assert payouts["totals"] == [{"currency": "EUR", "paid_out": "74.80", "owed": "0.00"}]
    earnings = gateway.get("/api/v1/providers/me/earnings", headers=provider).json()["currencies"]
    assert earnings == [
        {"currency": "EUR", "gross_sales": "88.00", "platform_fees": "13.20", "refunds": "0.00", "net": "74.80"}
    ]
    made = stripe_double.get("/_double/requests").json()["requests"]
    payout_calls = [
        call
        for call in made
        if call["path"] == "/v1/payouts" and call["stripe_account"] == account_id and not call["replayed"]
    ]
    assert len(payout_calls) == 1, "paid out once, from the provider's own account"
