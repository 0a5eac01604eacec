"""A provider's calendar feed through the gateway: read without signing in by whoever holds its
token, it shows a booking once it is paid for, follows it to another slot and marks it
cancelled; a rotated feed's old URL leads nowhere."""

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar, Event

from tests.flows import availability, listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Lea Moreau", "email": "lea.moreau@example.com", "phone": "+33611111111"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _feed_path(gateway: httpx.Client, provider: dict[str, str], *, rotate: bool = False) -> str:
    answer = (
        gateway.post("/api/v1/providers/me/calendar/rotate", headers=provider)
        if rotate
        else gateway.get("/api/v1/providers/me/calendar", headers=provider)
    )
    assert answer.status_code == 200, answer.text
    feed = answer.json()
    assert feed["url"].endswith(f"/providers/me/calendar.ics?token={feed['token']}")
    return f"/api/v1/providers/me/calendar.ics?token={feed['token']}"


def _events(gateway: httpx.Client, path: str) -> list[Event]:
    answer = gateway.get(path)  # a calendar app: nobody signed in
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["etag"]
    assert CONTACT["email"] not in answer.text
    assert CONTACT["phone"] not in answer.text
    return Calendar.from_ical(answer.content).events


def _feed_until(
    gateway: httpx.Client, path: str, shows: Callable[[list[Event]], bool], within: float = 30
) -> list[Event]:
    deadline = time.monotonic() + within
    events = _events(gateway, path)
    while not shows(events) and time.monotonic() < deadline:
        time.sleep(0.3)
        events = _events(gateway, path)
    assert shows(events), [event.to_ical() for event in events]
    return events


def _afternoon_slot(gateway: httpx.Client, provider: dict[str, str], listing_id: str, on: date) -> str:
    schedule = gateway.post(
        f"/api/v1/listings/{listing_id}/schedules",
        json={
            "start_time": "15:00",
            "duration_minutes": 120,
            "recurrence": "none",
            "capacity": 4,
            "valid_from": on.isoformat(),
        },
        headers=provider,
    )
    assert schedule.status_code == 201, schedule.text
    return str(next(slot for slot in availability(gateway, listing_id, on) if slot["start_time"] == "15:00")["slot_id"])


def test_a_providers_feed_shows_a_paid_booking_and_follows_its_move_and_cancellation(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    feed = _feed_path(gateway, provider)
    assert _events(gateway, feed) == []

    day = date.today() + timedelta(days=25)
    listing_id, morning = listing_with_slot(gateway, provider, capacity=4, on=day, title="Calanques boat trip")
    afternoon = _afternoon_slot(gateway, provider, listing_id, day)
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": morning, "adults": 2, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    assert _events(gateway, feed) == [], "not on the calendar before it is paid"

    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    booking = wait_for_status(gateway, booking["id"], traveler, "confirmed")
    [event] = _feed_until(gateway, feed, lambda events: len(events) == 1)
    assert event.summary == "Calanques boat trip"
    assert event.start == datetime.fromisoformat(booking["starts_at"])
    assert event.get("DTSTART").params["TZID"] == booking["timezone"]
    assert event.status == "CONFIRMED"
    assert f"Lead traveler: {CONTACT['name']}" in str(event.description)

    moved = gateway.patch(
        f"/api/v1/bookings/{booking['id']}", json={"slot_id": afternoon, "reason": "later boat"}, headers=traveler
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["difference"] == "0.00", "the same price: nothing to pay, the change is made at once"
    [moved_event] = _feed_until(gateway, feed, lambda events: events[0].start != event.start)
    assert moved_event.uid == event.uid
    assert moved_event.start - event.start == timedelta(hours=5)
    assert moved_event.sequence >= event.sequence

    cancelled = gateway.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "plans changed"}, headers=traveler
    )
    assert cancelled.status_code == 200, cancelled.text
    [cancelled_event] = _feed_until(gateway, feed, lambda events: events[0].status == "CANCELLED")
    assert cancelled_event.uid == event.uid


def test_a_rotated_provider_feed_url_is_not_found_and_only_providers_get_one(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    old = _feed_path(gateway, provider)
    new = _feed_path(gateway, provider, rotate=True)
    assert new != old

    gone = gateway.get(old)
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "NOT_FOUND"
    assert gone.headers["ratelimit-limit"]
    assert _events(gateway, new) == []
    assert gateway.get("/api/v1/providers/me/calendar", headers=traveler).status_code == 403
    assert gateway.get("/api/v1/providers/me/calendar").status_code == 401
