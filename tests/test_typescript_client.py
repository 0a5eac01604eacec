"""A client team's TypeScript SDK, generated from the platform's merged OpenAPI with the npm tools
the lock file pins and compiled with `tsc --strict`, books an instant slot, pays, and meets a
sold-out slot as a typed 409 (clients/typescript/src/book_instant_slot.ts)."""

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from devstack import typescript_client
from tests.flows import available_seats, listing_with_slot, sign_up
from tests.running_platform import PlatformPorts

# localstripe takes any test secret key; a browser would use Stripe.js with the client secret.
STRIPE_TEST_KEY = "sk_test_client"


@pytest.fixture(scope="module")
def booking_script(platform: PlatformPorts) -> Path:
    typescript_client.install()
    typescript_client.generate(f"{platform.gateway_url}/openapi.json")
    return typescript_client.build()


def test_the_generated_typescript_client_books_pays_and_meets_sold_out_as_a_typed_error(
    platform: PlatformPorts, booking_script: Path
) -> None:
    gateway = httpx.Client(base_url=platform.gateway_url, timeout=30)
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=3)

    ran = subprocess.run(
        ["node", str(booking_script)],
        env=os.environ
        | {
            "GATEWAY_URL": platform.gateway_url,
            "ACCESS_TOKEN": traveler["Authorization"].removeprefix("Bearer "),
            "SLOT_ID": slot_id,
            "ADULTS": "2",
            "STRIPE_API_BASE": f"http://127.0.0.1:{platform.stripe}",
            "STRIPE_API_KEY": STRIPE_TEST_KEY,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)
    assert answer["sold_out"] == {
        "status": 409,
        "error_code": "SOLD_OUT",
        "message": "Not enough seats are left on this slot.",
        "details": {"slot_id": slot_id, "available": 1, "requested": 2},
    }
    booking = gateway.get(f"/api/v1/bookings/{answer['booking']['id']}", headers=traveler).json()
    assert (booking["status"], booking["slot_id"], booking["seats"]) == ("confirmed", slot_id, 2)
    assert Decimal(booking["amount_paid"]) == Decimal(booking["total"]) == Decimal("88.00")
    intent = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{booking['payment']['payment_intent_id']}",
        auth=(STRIPE_TEST_KEY, ""),
    ).json()
    assert intent["status"] == "succeeded"
    assert available_seats(gateway, listing_id) == 1, "the refused party took no seats"
