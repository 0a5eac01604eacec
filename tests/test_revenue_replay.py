"""Analytics' revenue is payment's ledger, built from events only: after bookings are paid,
cancelled and refunded, and changed, its totals per currency and per provider equal sums of
payment's ledger tables to the cent; and emptying analytics' schema and replaying booking's and
payment's topics from the start (each partition at its own pace, as a reset consumer group reads
them) gives the provider the same reports in every grouping, and platform-wide still the ledger's sums."""

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.analytics.revenue.service import REVENUE_EVENTS
from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
from tests.replaying import replay_into_empty_tables
from tests.revenue_checks import as_the_ledger_sums, ledger_sums, revenue_reports, settled_revenue_reports
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Noa", "email": "noa@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _paid_bookings(platform: PlatformPorts, gateway: httpx.Client) -> dict[str, str]:
    """Confirmed; cancelled and refunded; changed to fewer seats (part refunded). The provider's
    headers."""
    stripe = f"http://127.0.0.1:{platform.stripe}"
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    slot_ids = [
        listing_with_slot(gateway, provider, capacity=20, on=date.today() + timedelta(days=30))[1] for _ in range(3)
    ]
    bookings = []
    for slot_id, adults in zip(slot_ids, (1, 2, 3), strict=True):
        created = gateway.post(
            "/api/v1/bookings", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=traveler
        )
        assert created.status_code == 201, created.text
        booking: dict[str, Any] = created.json()
        assert pay(stripe, booking["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
        bookings.append(booking)
    _, cancelled, changed = (wait_for_status(gateway, b["id"], traveler, "confirmed") for b in bookings)
    assert gateway.post(
        f"/api/v1/bookings/{cancelled['id']}/cancel", json={"reason": "plans changed"}, headers=traveler
    ).is_success
    assert gateway.patch(f"/api/v1/bookings/{changed['id']}", json={"adults": 1}, headers=traveler).is_success
    wait_for_status(gateway, cancelled["id"], traveler, "refunded")
    return provider


async def _replay_into_an_empty_schema(database_url: str, bootstrap_servers: str) -> int:
    return await replay_into_empty_tables(
        REVENUE_EVENTS,
        ("revenue_day", "revenue_provider_day", "money_movement", "booking_fact"),
        schema="analytics",
        database_url=database_url,
        bootstrap_servers=bootstrap_servers,
    )


def test_replaying_bookings_and_payments_topics_into_an_empty_schema_gives_the_same_revenue(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str, bootstrap_servers: str
) -> None:
    provider = _paid_bookings(platform, gateway)
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    before = settled_revenue_reports(gateway, admin)
    providers_before = revenue_reports(gateway, provider)
    euros = next(group for group in before["currency"] if group["currency"] == "EUR")
    assert Decimal(euros["gmv"]) > 0
    assert Decimal(euros["refunds"]) > 0
    assert as_the_ledger_sums(before) == asyncio.run(ledger_sums(database_url))

    replayed = asyncio.run(_replay_into_an_empty_schema(database_url, bootstrap_servers))

    assert replayed > 10
    # The provider's own figures, in every grouping, come back as they were. (The platform-wide
    # ones may not: other tests fed analytics events straight to its consumer, never through the
    # broker, so a replay cannot bring those back.) And platform-wide, it is still the ledger.
    assert revenue_reports(gateway, provider) == providers_before
    assert as_the_ledger_sums(revenue_reports(gateway, admin)) == asyncio.run(ledger_sums(database_url))
