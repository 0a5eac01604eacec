"""A provider blacks out a day that was booked, through the gateway: the paid booking is
cancelled as the provider's cancellation (refunded in full at Stripe, the credit recorded),
an unpaid one's PaymentIntent is cancelled, each traveler is emailed, the provider sees what
the blackout did, and lifting it puts the slot back on sale with every seat. The listing's
title has a line break, which once made every email of the listing fail."""

import email
import email.policy
import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import availability, listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Rui", "email": "rui-blackout@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def _book(gateway: httpx.Client, traveler: dict[str, str], slot_id: str, adults: int) -> dict[str, Any]:
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    return booking


def _eventually(check: Any, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert check()


def test_a_blackout_over_a_booked_day_cancels_refunds_credits_and_tells_the_travelers_and_lifting_reopens_it(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler, late_traveler = (
        sign_up(gateway, "provider"),
        sign_up(gateway, "traveler"),
        sign_up(gateway, "traveler"),
    )
    day = date.today() + timedelta(days=20)
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4, on=day, title="Sunset kayak\ntour")
    paid = _book(gateway, traveler, slot_id, adults=2)
    assert (
        pay(f"http://127.0.0.1:{platform.stripe}", paid["payment"]["payment_intent_id"], "pm_card_visa").json()[
            "status"
        ]
        == "succeeded"
    )
    wait_for_status(gateway, paid["id"], traveler, "confirmed")
    # The line break in the title no longer stops the confirmation.
    confirmation = mail_about(platform.mail_http, f"{paid['reference']} confirmed")
    assert confirmation["subject"] == f"Booking {paid['reference']} confirmed: Sunset kayak tour"
    unpaid = _book(gateway, late_traveler, slot_id, adults=1)

    placed = gateway.post(
        f"/api/v1/listings/{listing_id}/blackouts",
        json={"start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "Storm warning"},
        headers=provider,
    )
    assert placed.status_code == 201, placed.text
    blackout = placed.json()
    assert (blackout["slots_with_bookings"], blackout["bookings_affected"]) == ([slot_id], 2)
    assert [(slot["slot_id"], slot["seats_taken"]) for slot in blackout["slots"]] == [(slot_id, 3)]
    assert availability(gateway, listing_id, day) == []

    refunded = wait_for_status(gateway, paid["id"], traveler, "refunded")
    assert (refunded["cancelled_by"], refunded["status_reason"]) == (
        "provider",
        "the date was blacked out: Storm warning",
    )
    assert (refunded["refund"], refunded["credit"]) == (
        {"amount": "88.00", "currency": "EUR"},
        {"amount": "50.00", "currency": "EUR"},
    )
    charge = _intent(platform, paid["payment"]["payment_intent_id"])["latest_charge"]
    assert charge["amount_refunded"] == charge["amount"] == 8800
    history = gateway.get(f"/api/v1/bookings/{paid['id']}/history", headers=traveler).json()["items"]
    cancelled = next(change for change in history if change["action"] == "cancelled")
    assert (cancelled["actor"]["role"], cancelled["reason"]) == ("provider", "the date was blacked out: Storm warning")

    wait_for_status(gateway, unpaid["id"], late_traveler, "cancelled")
    _eventually(lambda: _intent(platform, unpaid["payment"]["payment_intent_id"])["status"] == "canceled")

    mail = mail_about(platform.mail_http, f"{paid['reference']} cancelled")
    assert mail["rcpt_tos"] == [CONTACT["email"]]
    assert mail["subject"] == f"Booking {paid['reference']} cancelled: Sunset kayak tour"
    body = email.message_from_string(mail["raw"], policy=email.policy.default).get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "cancelled by the provider: the date was blacked out: Storm warning" in text
    assert "€88.00 goes back" in text
    assert "€50.00 of credit" in text
    assert mail_about(platform.mail_http, f"{unpaid['reference']} cancelled")["rcpt_tos"] == [CONTACT["email"]]

    listed = gateway.get(f"/api/v1/listings/{listing_id}/blackouts", headers=provider)
    assert listed.status_code == 200, listed.text
    mine = [item for item in listed.json()["items"] if item["id"] == blackout["id"]]
    assert [(item["slots_with_bookings"], item["bookings_affected"], item["lifted_at"]) for item in mine] == [
        ([slot_id], 2, None)
    ]
    assert gateway.get(f"/api/v1/listings/{listing_id}/blackouts", headers=late_traveler).status_code == 403

    lifted = gateway.delete(f"/api/v1/listings/{listing_id}/blackouts/{blackout['id']}", headers=provider)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["slots_reopened"] == [slot_id]
    # Both bookings gave their seats back: the whole slot is on sale again.
    _eventually(lambda: [slot["available"] for slot in availability(gateway, listing_id, day)] == [4])
