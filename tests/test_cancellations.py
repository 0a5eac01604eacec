"""Cancellations through the gateway: a traveler's refund follows the listing's policy by how
far ahead they cancel; a provider's cancellation refunds everything with a credit; the seats
are back on sale at once, and Stripe refunds exactly what was decided."""

import email
import email.policy
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.money import to_minor_units
from tests.flows import available_seats, listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Rui", "email": "rui@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _booking(
    gateway: httpx.Client, provider: dict[str, str], traveler: dict[str, str], *, days_out: int, **listing: Any
) -> tuple[str, date, dict[str, Any]]:
    """Two seats of four, booked `days_out` days ahead and not yet paid: (listing id, day, booking)."""
    day = date.today() + timedelta(days=days_out)
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4, on=day, **listing)
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": 2, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    assert available_seats(gateway, listing_id, day) == 2
    return listing_id, day, created.json()


def _paid_booking(
    platform: PlatformPorts,
    gateway: httpx.Client,
    provider: dict[str, str],
    traveler: dict[str, str],
    *,
    days_out: int,
    **listing: Any,
) -> tuple[str, date, dict[str, Any]]:
    listing_id, day, booking = _booking(gateway, provider, traveler, days_out=days_out, **listing)
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    return listing_id, day, wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _cancel(gateway: httpx.Client, booking_id: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return gateway.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "plans changed"} | body, headers=headers
    )


def _seats_back(gateway: httpx.Client, listing_id: str, day: date, seats: int, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while available_seats(gateway, listing_id, day) != seats and time.monotonic() < deadline:
        time.sleep(0.1)
    assert available_seats(gateway, listing_id, day) == seats


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def _refunded_at_stripe(platform: PlatformPorts, booking: dict[str, Any]) -> int:
    charge = _intent(platform, booking["payment"]["payment_intent_id"])["latest_charge"]
    return int(charge["amount_refunded"])


@pytest.mark.parametrize(
    ("days_out", "listing", "refund", "final_status"),
    [
        (20, {}, "88.00", "refunded"),
        (10, {}, "44.00", "refunded"),
        (3, {}, "0.00", "cancelled"),
        # The listing's own policy: everything back up to two days before.
        (3, {"cancellation_policy": {"tiers": [{"min_days_before": 2, "refund_percent": "100"}]}}, "88.00", "refunded"),
    ],
)
def test_a_travelers_refund_follows_the_policy_by_how_far_ahead_they_cancel(
    platform: PlatformPorts,
    gateway: httpx.Client,
    days_out: int,
    listing: dict[str, Any],
    refund: str,
    final_status: str,
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, day, booking = _paid_booking(platform, gateway, provider, traveler, days_out=days_out, **listing)

    cancelled = _cancel(gateway, booking["id"], traveler)
    assert cancelled.status_code == 200, cancelled.text
    answer = cancelled.json()
    assert (answer["status"], answer["cancelled_by"]) == ("cancelled", "traveler")
    assert answer["refund"] == {"amount": refund, "currency": "EUR"}
    assert Decimal(answer["credit"]["amount"]) == 0
    _seats_back(gateway, listing_id, day, 4)

    settled = wait_for_status(gateway, booking["id"], traveler, final_status)
    assert settled["refund"] == answer["refund"]
    if final_status == "refunded":
        assert _refunded_at_stripe(platform, booking) == to_minor_units(Decimal(refund), "EUR")
    again = _cancel(gateway, booking["id"], traveler)
    assert (again.status_code, again.json()["error_code"]) == (409, "INVALID_TRANSITION")


def test_a_provider_cancellation_refunds_everything_with_a_credit(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler, stranger = (
        sign_up(gateway, "provider"),
        sign_up(gateway, "traveler"),
        sign_up(gateway, "traveler"),
    )
    listing_id, day, booking = _paid_booking(platform, gateway, provider, traveler, days_out=3)

    assert _cancel(gateway, booking["id"], stranger).status_code == 404
    no_show_claim = _cancel(gateway, booking["id"], traveler, provider_no_show=True)
    assert (no_show_claim.status_code, no_show_claim.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()["status"] == "confirmed"

    cancelled = _cancel(gateway, booking["id"], provider, reason="the boat is broken")
    assert cancelled.status_code == 200, cancelled.text
    answer = cancelled.json()
    assert (answer["cancelled_by"], answer["status_reason"]) == ("provider", "the boat is broken")
    assert (answer["refund"], answer["credit"]) == (
        {"amount": "88.00", "currency": "EUR"},
        {"amount": "50.00", "currency": "EUR"},
    )
    _seats_back(gateway, listing_id, day, 4)
    wait_for_status(gateway, booking["id"], traveler, "refunded")
    assert _refunded_at_stripe(platform, booking) == 8800

    # Every step is in the booking's history, with who took it; the traveler sees where their
    # own requests came from, not the provider's.
    history = gateway.get(f"/api/v1/bookings/{booking['id']}/history", headers=traveler).json()["items"]
    assert [(change["action"], change["actor"]["role"]) for change in history] == [
        ("created", "traveler"),
        ("paid", "system"),
        ("confirmed", "system"),
        ("cancelled", "provider"),
        ("refunded", "system"),
    ]
    created, cancelled_change = history[0], history[3]
    assert created["ip"] == "127.0.0.1"
    assert created["user_agent"].startswith("python-httpx")
    assert (cancelled_change["ip"], cancelled_change["user_agent"]) == (None, None)
    assert cancelled_change["changes"] == {
        "status": {"from": "confirmed", "to": "cancelled"},
        "refund_amount": {"from": None, "to": "88.00"},
        "credit_amount": {"from": None, "to": "50.00"},
    }
    assert cancelled_change["reason"] == "the boat is broken"

    # The traveler is told, and the event leaves their calendar.
    mail = mail_about(platform.mail_http, f"{booking['reference']} cancelled")
    assert mail["rcpt_tos"] == [CONTACT["email"]]
    parsed = email.message_from_string(mail["raw"], policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "by the provider: the boat is broken" in text
    assert "€88.00 goes back" in text
    assert "€50.00 of credit" in text
    invite = next(part for part in parsed.walk() if part.get_content_type() == "text/calendar").get_content()
    assert "METHOD:CANCEL" in invite
    assert f"UID:{booking['id']}@travel.example" in invite


def test_a_provider_who_did_not_show_up_owes_the_larger_credit(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, _, booking = _paid_booking(platform, gateway, provider, traveler, days_out=2)
    cancelled = _cancel(gateway, booking["id"], provider, reason="no guide came", provider_no_show=True)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["credit"] == {"amount": "100.00", "currency": "EUR"}


def test_an_unpaid_booking_cancelled_frees_its_hold_and_can_no_longer_be_paid(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, day, booking = _booking(gateway, provider, traveler, days_out=5)

    cancelled = _cancel(gateway, booking["id"], traveler)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refund"] == {"amount": "0.00", "currency": "EUR"}
    _seats_back(gateway, listing_id, day, 4)
    deadline = time.monotonic() + 20
    intent_id = booking["payment"]["payment_intent_id"]
    while _intent(platform, intent_id)["status"] != "canceled" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _intent(platform, intent_id)["status"] == "canceled"
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()["status"] == "cancelled"
    # Never confirmed, so no calendar event to take back.
    assert mail_about(platform.mail_http, f"{booking['reference']} cancelled")["attachments"] == []
