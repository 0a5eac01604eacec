"""Every person hears what concerns them, through the gateway as `make up` runs the platform:
an instant booking tells its traveler (email, SMS, in-app) and its provider (email, in-app,
heard live on their WebSocket); a cancellation tells its provider, its traveler of the refund,
and the next on the waiting list of the seats held for them; a blackout's cancellation is named
in the traveler's feed; an expert hears of the trip a traveler hands them; a payout the bank
refuses tells the admins and the provider (through notification's consumer of payment's
events)."""

import email
import email.policy
import json
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.flows import listing_with_slot, mail_about, pay, sign_in, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

# From the event through the broker to notification, and out by its delivery worker.
HEARD_WITHIN_SECONDS = 30


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _me(gateway: httpx.Client, user: dict[str, str]) -> dict[str, Any]:
    me = gateway.get("/api/v1/auth/me", headers=user)
    assert me.status_code == 200, me.text
    answer: dict[str, Any] = me.json()
    return answer


def _subscribe(platform: PlatformPorts, headers: dict[str, str]) -> ClientConnection:
    token = headers["Authorization"].removeprefix("Bearer ")
    url = platform.gateway_url.replace("http://", "ws://") + "/api/v1/ws/notifications"
    return connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)], proxy=None, open_timeout=10)


def _feed_item(
    gateway: httpx.Client, user: dict[str, str], kind: str, where: Callable[[dict[str, Any]], bool] = lambda _: True
) -> dict[str, Any]:
    """The item of `kind` in the user's feed (`GET /notifications`), once it is there."""
    deadline = time.monotonic() + HEARD_WITHIN_SECONDS
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        feed = gateway.get("/api/v1/notifications", headers=user)
        assert feed.status_code == 200, feed.text
        items = feed.json()["items"]
        found = [item for item in items if item["kind"] == kind and where(item)]
        if found:
            [item] = found
            return item
        time.sleep(0.3)
    raise AssertionError(f"no {kind} in the feed: {[item['kind'] for item in items]}")


def _text(mail: dict[str, Any]) -> str:
    # As bytes: a body parsed from a str reads its 8-bit UTF-8 back as escapes.
    body = email.message_from_bytes(mail["raw"].encode(), policy=email.policy.default).get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def _sms_about(platform: PlatformPorts, reference: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + HEARD_WITHIN_SECONDS
    about: list[dict[str, Any]] = []
    while not about and time.monotonic() < deadline:
        items = httpx.get(f"http://127.0.0.1:{platform.twilio_sink}/messages", timeout=10).json()["items"]
        about = [item for item in items if reference in item["body"]]
        time.sleep(0.2)
    return about


def _paid_booking(
    platform: PlatformPorts, gateway: httpx.Client, traveler: dict[str, str], slot_id: str, contact: dict[str, str]
) -> dict[str, Any]:
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 2, "contact": contact, "payment_option": "full"},
        headers=traveler | {"Idempotency-Key": f"book-{uuid.uuid4()}"},
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    return wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _names(booking: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item["subject"] == {"type": "booking", "id": booking["id"]}


def test_an_instant_booking_tells_its_traveler_and_its_provider_each_on_their_channels(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    provider_email = _me(gateway, provider)["email"]
    _, slot_id = listing_with_slot(gateway, provider, capacity=4)
    contact = {"name": "Ana Traveler", "email": f"ana-{uuid.uuid4().hex[:8]}@example.com", "phone": "912 345 678"}

    with _subscribe(platform, provider) as live:
        booking = _paid_booking(platform, gateway, traveler, slot_id, contact)
        pushed = json.loads(live.recv(timeout=HEARD_WITHIN_SECONDS))

    assert pushed["type"] == "notification.created"
    heard = pushed["notification"]
    assert (heard["kind"], heard["subject"]) == ("provider_booking_received", {"type": "booking", "id": booking["id"]})
    assert booking["reference"] in heard["summary"]
    assert _feed_item(gateway, provider, "provider_booking_received") == heard
    travelers_item = _feed_item(gateway, traveler, "booking_confirmed", _names(booking))
    assert booking["reference"] in travelers_item["summary"]

    to_traveler = mail_about(platform.mail_http, f"Booking {booking['reference']} confirmed")
    assert to_traveler["rcpt_tos"] == [contact["email"]]
    to_provider = mail_about(platform.mail_http, "New booking from Ana Traveler: 2 place(s)", to=provider_email)
    assert to_provider["rcpt_tos"] == [provider_email]
    assert booking["reference"] in _text(to_provider)
    [sms] = _sms_about(platform, booking["reference"])
    assert sms["to"] == "+351912345678"


def test_a_travelers_cancellation_tells_the_provider_the_traveler_of_the_refund_and_the_waitlist_of_the_seats(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider = sign_up(gateway, "provider")
    traveler, waiting = sign_up(gateway, "traveler"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=20)
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=2, on=day)
    contact = {"name": "Rui", "email": f"rui-{uuid.uuid4().hex[:8]}@example.com"}
    booking = _paid_booking(platform, gateway, traveler, slot_id, contact)
    joined = gateway.post(
        "/api/v1/waitlist", json={"listing_id": listing_id, "date": day.isoformat(), "party_size": 2}, headers=waiting
    )
    assert joined.status_code == 201, joined.text

    cancelled = gateway.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "Ill"}, headers=traveler)
    assert cancelled.status_code == 200, cancelled.text

    told_provider = _feed_item(gateway, provider, "provider_booking_cancelled", _names(booking))
    assert booking["reference"] in told_provider["summary"]
    to_provider = mail_about(platform.mail_http, "Cancelled: Rui's booking of", to=_me(gateway, provider)["email"])
    assert "The traveler cancelled it: Ill" in _text(to_provider)
    _feed_item(gateway, traveler, "refund_completed", _names(booking))
    refund_mail = mail_about(platform.mail_http, f"Refund of €88.00 for booking {booking['reference']}")
    assert refund_mail["rcpt_tos"] == [contact["email"]]
    assert "went back to the card you paid with" in _text(refund_mail)
    offer = _feed_item(gateway, waiting, "waitlist_offered")
    assert offer["subject"] == {"type": "waitlist_entry", "id": joined.json()["id"]}
    offer_mail = mail_about(platform.mail_http, "2 place(s) held for you until", to=_me(gateway, waiting)["email"])
    assert "(Western European" in _text(offer_mail)


def test_a_blackouts_cancellation_is_named_in_the_travelers_feed(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=25)
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4, on=day)
    booking = _paid_booking(platform, gateway, traveler, slot_id, {"name": "Ines", "email": "ines@example.com"})

    placed = gateway.post(
        f"/api/v1/listings/{listing_id}/blackouts",
        json={"start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "Storm warning"},
        headers=provider,
    )
    assert placed.status_code == 201, placed.text

    told = _feed_item(gateway, traveler, "booking_cancelled", _names(booking))
    assert told["title"].startswith(f"Date blacked out: Booking {booking['reference']} cancelled")
    told_provider = _feed_item(gateway, provider, "provider_booking_cancelled", _names(booking))
    assert told_provider["title"].startswith("Date blacked out: ")
    _feed_item(gateway, traveler, "refund_completed", _names(booking))


def test_an_expert_hears_of_the_trip_a_traveler_hands_them(platform: PlatformPorts, gateway: httpx.Client) -> None:
    traveler, expert = sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    expert_account = _me(gateway, expert)
    description = f"Five days in Portugal for two, {uuid.uuid4().hex[:8]}"

    requested = gateway.post(
        "/api/v1/expert-handoffs",
        json={
            "expert_id": expert_account["id"],
            "description": description,
            "start_date": "2031-06-01",
            "end_date": "2031-06-05",
            "budget": {"amount": "2000.00", "currency": "EUR"},
        },
        headers=traveler,
    )
    assert requested.status_code == 201, requested.text

    told = _feed_item(gateway, expert, "handoff_requested")
    assert told["subject"] == {"type": "handoff", "id": requested.json()["id"]}
    mail = mail_about(platform.mail_http, f"A traveler asks you to plan their trip ({_me(gateway, traveler)['email']})")
    assert mail["rcpt_tos"] == [expert_account["email"]]
    assert description in _text(mail)
    assert "€2,000.00" in _text(mail)


def _paid_out(gateway: httpx.Client, provider: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + HEARD_WITHIN_SECONDS
    while time.monotonic() < deadline:
        payouts = gateway.get("/api/v1/providers/me/payouts", headers=provider).json()["payouts"]
        if paid := [payout for payout in payouts if payout["status"] == "paid"]:
            [payout] = paid
            return dict(payout)
        time.sleep(0.3)
    raise AssertionError("the provider was not paid out")


def test_a_payout_the_bank_refuses_tells_the_admins_and_the_provider(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    stripe_double = httpx.Client(base_url=f"http://127.0.0.1:{platform.stripe_connect_double}", timeout=30)
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    # The bootstrap admin may be older than notification's directory: announced again.
    assert gateway.post("/api/v1/auth/accounts/republish", headers=admin).status_code == 200
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    account_id = gateway.post("/api/v1/providers/me/payouts/onboarding", headers=provider).json()["account_id"]
    assert stripe_double.post(f"/_double/accounts/{account_id}/verify").status_code == 200
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=20))
    _paid_booking(platform, gateway, traveler, slot_id, {"name": "Rui", "email": "rui@example.com"})
    payout = _paid_out(gateway, provider)

    refused = stripe_double.post(
        f"/_double/payouts/{payout['stripe_payout_id']}/fail",
        json={"failure_code": "account_closed", "failure_message": "The bank account has been closed."},
    )
    assert refused.status_code == 200, refused.text

    about_it = {"type": "payout", "id": payout["id"]}
    _feed_item(gateway, admin, "payout_failed_ops", lambda item: item["subject"] == about_it)
    _feed_item(gateway, provider, "payout_failed", lambda item: item["subject"] == about_it)
    subject = f"Your payout of €{payout['amount']} could not be paid"
    to_provider = mail_about(platform.mail_http, subject, to=_me(gateway, provider)["email"])
    assert "The bank account has been closed." in _text(to_provider)
