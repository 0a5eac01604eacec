"""Steps the end-to-end tests take the way a client would: over HTTP, through the gateway."""

import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"

LISTING = {
    "title": "Sunset kayak tour",
    "category": "tour",
    "description": "Paddle along the river at sunset.",
    "city": "Lisbon",
    "country": "PT",
    "timezone": "Europe/Lisbon",
    "currency": "EUR",
    "booking_mode": "instant",
    "availability_mode": "inventory",
    "base_price": "40.00",
    "pricing": {"tax_percent": "10"},
}


def sign_up(client: httpx.Client, role: str) -> dict[str, str]:
    """A new account of `role`, signed in: the headers its requests carry."""
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": role, "role": role}
    )
    assert registered.status_code == 202, registered.text
    return sign_in(client, email, PASSWORD)


def sign_in(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def tomorrow() -> date:
    return date.today() + timedelta(days=2)


def listing_with_slot(
    client: httpx.Client, provider: dict[str, str], *, capacity: int, on: date | None = None, **overrides: Any
) -> tuple[str, str]:
    """A listing with one slot at 10:00 local time on `on` (the day after tomorrow if not given)."""
    on = on or tomorrow()
    listing = client.post("/api/v1/listings", json=LISTING | overrides, headers=provider)
    assert listing.status_code == 201, listing.text
    listing_id = listing.json()["id"]
    schedule = client.post(
        f"/api/v1/listings/{listing_id}/schedules",
        json={
            "start_time": "10:00",
            "duration_minutes": 120,
            "recurrence": "none",
            "capacity": capacity,
            "valid_from": on.isoformat(),
        },
        headers=provider,
    )
    assert schedule.status_code == 201, schedule.text
    slots = availability(client, listing_id, on)
    assert len(slots) == 1
    return listing_id, slots[0]["slot_id"]


def availability(client: httpx.Client, listing_id: str, on: date | None = None) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/v1/listings/{listing_id}/availability", params={"date": (on or tomorrow()).isoformat()}
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


def available_seats(client: httpx.Client, listing_id: str, on: date | None = None) -> int:
    slots = availability(client, listing_id, on)
    return int(slots[0]["available"]) if slots else 0


def pay(stripe_api_base: str, payment_intent_id: str, payment_method: str) -> httpx.Response:
    """What the client app does with Stripe.js: set the card on the intent, then confirm it."""
    with httpx.Client(base_url=stripe_api_base, auth=("sk_test_client", ""), timeout=10) as stripe:
        updated = stripe.post(f"/v1/payment_intents/{payment_intent_id}", data={"payment_method": payment_method})
        assert updated.status_code == 200, updated.text
        return stripe.post(f"/v1/payment_intents/{payment_intent_id}/confirm")


def wait_for_status(
    client: httpx.Client, booking_id: str, headers: dict[str, str], status: str, within: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    booking: dict[str, Any] = {}
    while time.monotonic() < deadline:
        booking = client.get(f"/api/v1/bookings/{booking_id}", headers=headers).json()
        if booking.get("status") == status:
            return booking
        time.sleep(0.2)
    raise AssertionError(f"booking {booking_id} is {booking.get('status')}, not {status}, after {within}s")


def mail_about(mail_http_port: int, subject_part: str, within: float = 30, *, to: str | None = None) -> dict[str, Any]:
    """The first email the local mail sink received whose subject has `subject_part` (and sent
    `to` the address, when given: the sink holds every test's mail)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        messages = httpx.get(f"http://127.0.0.1:{mail_http_port}/messages").json()["items"]
        for message in messages:
            if subject_part in str(message["subject"]) and (to is None or to in message["rcpt_tos"]):
                return dict(message)
        time.sleep(0.2)
    raise AssertionError(f"no email about {subject_part}")
