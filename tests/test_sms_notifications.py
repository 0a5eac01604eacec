"""The platform as `make up` runs it: an instant booking whose contact gives a phone is told
by SMS as well as by email, the SMS reaching the Twilio-compatible sink once, addressed in
E.164, naming the booking, and its delivery statuses coming back to notification."""

import time
import uuid
from typing import Any

import httpx

from tests.flows import listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts


def _sms_about(sink_url: str, reference: str, within: float = 30) -> list[dict[str, Any]]:
    """The SMS at the sink naming `reference`, once it has both delivery statuses' answers."""
    deadline = time.monotonic() + within
    while True:
        items = httpx.get(f"{sink_url}/messages", timeout=10).json()["items"]
        about = [item for item in items if reference in item["body"]]
        if (about and len(about[0]["callbacks"]) == 2) or time.monotonic() > deadline:
            return about
        time.sleep(0.2)


def test_an_instant_booking_with_a_phone_is_told_by_one_sms(platform: PlatformPorts) -> None:
    gateway = httpx.Client(base_url=platform.gateway_url, timeout=30)
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=8)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=traveler)
    assert hold.status_code == 201, hold.text
    email = f"sms-{uuid.uuid4().hex[:8]}@example.com"
    created = gateway.post(
        "/api/v1/bookings",
        json={
            "hold_id": hold.json()["id"],
            "contact": {"name": "Ana 🧳\nTraveler", "email": email, "phone": "912 345 678"},
            "payment_option": "full",
        },
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking = created.json()

    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")

    assert mail_about(platform.mail_http, booking["reference"])["rcpt_tos"] == [email]
    [sms] = _sms_about(f"http://127.0.0.1:{platform.twilio_sink}", booking["reference"])
    assert sms["to"] == "+351912345678"
    assert sms["body"].startswith(f"Booking {booking['reference']} confirmed: ")
    assert sms["callbacks"] == [{"status": "sent", "answer": 204}, {"status": "delivered", "answer": 204}]
    time.sleep(2)  # a second SMS for the booking would have come by now
    assert len(_sms_about(f"http://127.0.0.1:{platform.twilio_sink}", booking["reference"], within=0)) == 1
