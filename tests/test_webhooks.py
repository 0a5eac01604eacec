"""Webhooks through the gateway: a provider subscribes an endpoint, a traveler books and pays,
and the endpoint hears booking.created then booking.confirmed, signed as the README says."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from services.booking.tests.webhook_receiving import verify
from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts


class Endpoint:
    """An HTTP endpoint on 127.0.0.1 in a thread: keeps each request's headers and body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, count: int, within: float = 30) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + within
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return list(self.received)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def test_a_providers_endpoint_hears_its_booking_created_then_confirmed_signed(
    platform: PlatformPorts, gateway: httpx.Client, endpoint: Endpoint
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    subscribed = gateway.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": endpoint.url, "events": ["booking.created", "booking.confirmed"], "description": "sync"},
        headers=provider,
    )
    assert subscribed.status_code == 201, subscribed.text
    secret = subscribed.json()["secret"]
    assert (
        gateway.post(
            "/api/v1/webhooks/subscriptions",
            json={"url": endpoint.url, "events": ["booking.created"]},
            headers=traveler,
        ).status_code
        == 403
    )

    _, slot_id = listing_with_slot(gateway, provider, capacity=4)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=traveler)
    assert hold.status_code == 201, hold.text
    created = gateway.post(
        "/api/v1/bookings",
        json={
            "hold_id": hold.json()["id"],
            "contact": {"name": "Ana Traveler", "email": "ana@example.com"},
            "payment_option": "full",
        },
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")

    received = endpoint.bodies(2)
    events = [json.loads(body) for _, body in received]
    assert [(event["type"], event["data"]["booking_id"]) for event in events] == [
        ("booking.created", booking["id"]),
        ("booking.confirmed", booking["id"]),
    ]
    for headers, body in received:
        assert verify(secret, headers["Webhook-Signature"], body)
        assert headers["Webhook-Id"] == json.loads(body)["id"]

    # The endpoint has answered; booking records the answers just after.
    deadline, logged = time.monotonic() + 10, set()
    while time.monotonic() < deadline:
        log = gateway.get(f"/api/v1/webhooks/subscriptions/{subscribed.json()['id']}/deliveries", headers=provider)
        assert log.status_code == 200, log.text
        logged = {(item["kind"], item["status"], item["attempts"]) for item in log.json()["items"]}
        if all(status == "delivered" for _, status, _ in logged):
            break
        time.sleep(0.2)
    assert logged == {("booking.created", "delivered", 1), ("booking.confirmed", "delivered", 1)}
