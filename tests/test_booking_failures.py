"""The instant flow's failure paths and its concurrency, through the gateway and real processes:
seats never oversold, money never kept without a seat."""

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal

import httpx
import pytest
import stripe

from devstack.stack import DEV_STRIPE_WEBHOOK_SECRET
from tests.flows import available_seats, listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts, pid_serving


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _book(gateway: httpx.Client, traveler: dict[str, str], hold_id: str) -> dict[str, object]:
    body = {"hold_id": hold_id, "contact": {"name": "Bo", "email": "bo@example.com"}}
    response = gateway.post("/api/v1/bookings", json=body, headers=traveler)
    assert response.status_code == 201, response.text
    booking: dict[str, object] = response.json()
    return booking


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def test_three_hundred_concurrent_holds_through_the_gateway_sell_exactly_ten(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider = sign_up(gateway, "provider")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=10)
    travelers = [sign_up(gateway, "traveler") for _ in range(30)]

    async def hold_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=300)
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=travelers[n % 30])
                    for n in range(300)
                )
            )

    answers = asyncio.run(hold_all())
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(201) == 10, {status: statuses.count(status) for status in set(statuses)}
    assert statuses.count(409) == 290, {status: statuses.count(status) for status in set(statuses)}
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    # Thirty travelers, ten tries each: a traveler holds the slot once at a time (fair use).
    assert {body["error_code"] for body in refused} <= {"SOLD_OUT", "HOLD_EXISTS", "HOLD_IN_PROGRESS"}
    assert all(body["request_id"] for body in refused)
    assert available_seats(gateway, listing_id) == 0


def test_holds_expiring_while_bookings_confirm_never_exceed_capacity(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider = sign_up(gateway, "provider")
    capacity = 6
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=capacity, hold_ttl_seconds=5)
    travelers = [sign_up(gateway, "traveler") for _ in range(12)]
    confirmed: list[tuple[str, dict[str, str]]] = []
    deadline = time.monotonic() + 14
    while time.monotonic() < deadline:
        for traveler in travelers:
            hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler)
            assert hold.status_code in (201, 409), hold.text
            if hold.status_code == 201 and len(confirmed) < 4:
                booking = _book(gateway, traveler, str(hold.json()["id"]))
                payment = booking["payment"]
                assert isinstance(payment, dict)
                pay(f"http://127.0.0.1:{platform.stripe}", str(payment["payment_intent_id"]), "pm_card_visa")
                confirmed.append((str(booking["id"]), traveler))
            # Whatever is held or sold, never more than the capacity is taken.
            assert 0 <= available_seats(gateway, listing_id) <= capacity
        time.sleep(0.5)
    for booking_id, traveler in confirmed:
        wait_for_status(gateway, booking_id, traveler, "confirmed")
    time.sleep(6)  # every unpaid hold has expired by now
    assert available_seats(gateway, listing_id) == capacity - len(confirmed)


def test_an_unpaid_hold_that_expires_expires_the_booking_and_cancels_the_intent(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=3, hold_ttl_seconds=5)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 3}, headers=traveler).json()
    booking = _book(gateway, traveler, hold["id"])
    assert available_seats(gateway, listing_id) == 0

    wait_for_status(gateway, str(booking["id"]), traveler, "expired", within=30)
    assert available_seats(gateway, listing_id) == 3
    payment = booking["payment"]
    assert isinstance(payment, dict)
    deadline = time.monotonic() + 20
    while _intent(platform, str(payment["payment_intent_id"]))["status"] != "canceled" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _intent(platform, str(payment["payment_intent_id"]))["status"] == "canceled"


def test_a_payment_after_the_seats_were_resold_is_refunded(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, late, quick = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=2, hold_ttl_seconds=5)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=late).json()
    booking = _book(gateway, late, hold["id"])
    payment = booking["payment"]
    assert isinstance(payment, dict)

    # Booking is held still (as if it were restarting) while its hold lapses, someone else takes
    # the seats, and the late traveler pays.
    booking_pid = pid_serving(platform.apps["booking"])
    os.kill(booking_pid, signal.SIGSTOP)
    try:
        paid = pay(f"http://127.0.0.1:{platform.stripe}", str(payment["payment_intent_id"]), "pm_card_visa")
        assert paid.json()["status"] == "succeeded"
        deadline = time.monotonic() + 20
        taken = None
        while time.monotonic() < deadline:
            taken = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=quick)
            if taken.status_code == 201:
                break
            time.sleep(0.2)
        assert taken is not None
        assert taken.status_code == 201
    finally:
        os.kill(booking_pid, signal.SIGCONT)

    refunded = wait_for_status(gateway, str(booking["id"]), late, "refunded", within=40)
    assert "sold" in str(refunded["status_reason"])
    charge = _intent(platform, str(payment["payment_intent_id"]))["latest_charge"]
    assert isinstance(charge, dict)
    assert charge["amount_refunded"] == charge["amount"] == 8800
    assert available_seats(gateway, listing_id) == 0, "the seats stay with the one who holds them"


def _signed(payload: Mapping[str, object], secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    timestamp = timestamp or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return body, f"t={timestamp},v1={signature}"


def test_a_webhook_with_a_bad_signature_is_400_and_a_repeated_one_takes_effect_once(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=2)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler).json()
    booking = _book(gateway, traveler, hold["id"])
    payment = booking["payment"]
    assert isinstance(payment, dict)
    intent_id = str(payment["payment_intent_id"])
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
    url = "/api/v1/payments/webhooks/stripe"

    body, _ = _signed(event, DEV_STRIPE_WEBHOOK_SECRET)
    forged_body, forged_signature = _signed(event, "whsec_someone_else")
    for signature in (forged_signature, "t=1,v1=deadbeef", ""):
        refused = gateway.post(
            url, content=forged_body, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
        )
        assert refused.status_code == 400
        assert refused.json()["error_code"] == "INVALID_SIGNATURE"
    stale_body, stale_signature = _signed(event, DEV_STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    assert gateway.post(url, content=stale_body, headers={"Stripe-Signature": stale_signature}).status_code == 400
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()["status"] == "pending_payment"

    pay(f"http://127.0.0.1:{platform.stripe}", intent_id, "pm_card_visa")
    confirmed = wait_for_status(gateway, str(booking["id"]), traveler, "confirmed")
    outcomes = []
    for _ in range(2):
        body, signature = _signed(event, DEV_STRIPE_WEBHOOK_SECRET)
        answer = gateway.post(url, content=body, headers={"Stripe-Signature": signature})
        assert answer.status_code == 200
        outcomes.append(answer.json()["outcome"])
    assert outcomes == ["no change", "duplicate"]
    assert Decimal(str(confirmed["total"])) == Decimal("44.00")
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()["status"] == "confirmed"
