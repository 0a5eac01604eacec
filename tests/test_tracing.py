"""One instant booking is one trace, across every service it passes through and the Stripe
webhook between them.

The platform's apps run as processes of their own, so an exporter in this process cannot see
their spans: each writes them as JSON lines to a file of its own (`TRACING_EXPORTER=file`, set
in conftest.py), and the test reads them all.
"""

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from tests.flows import listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

# (service, span) that must share the booking's trace, in the order the flow reaches them.
FLOW = (
    ("gateway", "POST /api/v1/{path:path}"),
    ("booking", "POST /bookings"),
    ("payment", "POST /internal/payment-intents"),
    ("payment", "stripe webhook payment_intent.succeeded"),
    ("booking", "booking.saga process payment.events"),
    ("inventory", "inventory.booking-events process booking.events"),
    ("notification", "notification.booking-events process booking.events"),
)


def _spans_of_trace(directory: Path, trace_id: str) -> list[dict[str, Any]]:
    spans = []
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["context"]["trace_id"] == f"0x{trace_id}":
                spans.append(span)
    return sorted(spans, key=lambda span: str(span["start_time"]))


def _flow_seen(spans: list[dict[str, Any]]) -> set[tuple[str, str]]:
    seen = {(span["resource"]["attributes"]["service.name"], span["name"]) for span in spans}
    return {step for step in FLOW if any(_matches(step, span) for span in seen)}


def _matches(step: tuple[str, str], span: tuple[str, str]) -> bool:
    """A server span is named by the route's template, which may carry path parameters."""
    return span[0] == step[0] and (span[1] == step[1] or span[1].startswith(step[1] + " "))


def test_an_instant_booking_is_one_trace_from_the_gateway_through_the_webhook_to_the_email(
    platform: PlatformPorts, span_directory: Path
) -> None:
    gateway = httpx.Client(base_url=platform.gateway_url, timeout=30)
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler)
    assert hold.status_code == 201, hold.text

    # The client starts the trace, so the test knows its id (a W3C traceparent, sampled).
    trace_id, parent_span_id = secrets.token_hex(16), secrets.token_hex(8)
    created = gateway.post(
        "/api/v1/bookings",
        json={
            "hold_id": hold.json()["id"],
            "contact": {"name": "Tracy Traveler", "email": "tracy@example.com"},
            "payment_option": "full",
        },
        headers=traveler | {"traceparent": f"00-{trace_id}-{parent_span_id}-01"},
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")
    mail_about(platform.mail_http, booking["reference"])

    deadline = time.monotonic() + 30
    spans = _spans_of_trace(span_directory, trace_id)
    while _flow_seen(spans) != set(FLOW) and time.monotonic() < deadline:
        time.sleep(0.5)
        spans = _spans_of_trace(span_directory, trace_id)
    assert set(FLOW) - _flow_seen(spans) == set(), [
        (span["resource"]["attributes"]["service.name"], span["name"]) for span in spans
    ]
    webhook = next(span for span in spans if span["name"] == "stripe webhook payment_intent.succeeded")
    assert webhook["links"], "the webhook's span links the request Stripe made, a trace of its own"
    assert webhook["links"][0]["context"]["trace_id"] != f"0x{trace_id}"
