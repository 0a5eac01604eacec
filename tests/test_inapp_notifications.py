"""In-app notifications end to end: an instant booking puts a notification naming it in the
traveler's feed, heard live by their WebSocket subscriber through the gateway and listed by
`GET /notifications`, where it is marked read."""

import json
import uuid
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

# From the booking's confirmation through the broker to notification and back out.
HEARD_WITHIN_SECONDS = 30


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _subscribe(platform: PlatformPorts, headers: dict[str, str]) -> ClientConnection:
    """The live feed as a browser opens it: the access token as the `bearer, <token>` subprotocol pair."""
    token = headers["Authorization"].removeprefix("Bearer ")
    url = platform.gateway_url.replace("http://", "ws://") + "/api/v1/ws/notifications"
    return connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)], proxy=None, open_timeout=10)


def _confirmed_booking(platform: PlatformPorts, gateway: httpx.Client, traveler: dict[str, str]) -> dict[str, Any]:
    provider = sign_up(gateway, "provider")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler)
    assert hold.status_code == 201, hold.text
    created = gateway.post(
        "/api/v1/bookings",
        json={
            "hold_id": hold.json()["id"],
            "contact": {"name": "Ana Traveler", "email": f"ana-{uuid.uuid4().hex[:8]}@example.com"},
            "payment_option": "full",
        },
        headers=traveler | {"Idempotency-Key": f"book-{uuid.uuid4()}"},
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    return wait_for_status(gateway, booking["id"], traveler, "confirmed")


def test_an_instant_booking_is_heard_live_and_listed_in_the_travelers_feed_through_the_gateway(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    traveler = sign_up(gateway, "traveler")
    assert gateway.get("/api/v1/notifications", headers=traveler).json() == {
        "items": [],
        "next_cursor": None,
        "unread_count": 0,
    }

    with _subscribe(platform, traveler) as live:
        assert live.subprotocol == "bearer"
        booking = _confirmed_booking(platform, gateway, traveler)
        pushed = json.loads(live.recv(timeout=HEARD_WITHIN_SECONDS))

    assert pushed["type"] == "notification.created"
    heard = pushed["notification"]
    assert heard["kind"] == "booking_confirmed"
    assert heard["subject"] == {"type": "booking", "id": booking["id"]}
    assert booking["reference"] in heard["summary"]

    feed = gateway.get("/api/v1/notifications", headers=traveler)
    assert feed.status_code == 200, feed.text
    assert feed.json()["items"] == [heard]
    assert feed.json()["unread_count"] == 1

    read = gateway.post(f"/api/v1/notifications/{heard['id']}/read", headers=traveler)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    assert gateway.get("/api/v1/notifications/unread-count", headers=traveler).json() == {"unread_count": 0}
    # Another person neither sees it nor marks it.
    stranger = sign_up(gateway, "traveler")
    assert gateway.get("/api/v1/notifications", headers=stranger).json()["items"] == []
    assert gateway.post(f"/api/v1/notifications/{heard['id']}/read", headers=stranger).status_code == 404


def test_the_live_feed_is_refused_to_a_caller_who_is_not_signed_in(platform: PlatformPorts) -> None:
    url = platform.gateway_url.replace("http://", "ws://") + "/api/v1/ws/notifications"
    with pytest.raises(InvalidStatus) as refused, connect(url, proxy=None, open_timeout=10):
        pass
    assert refused.value.response.status_code == 401
