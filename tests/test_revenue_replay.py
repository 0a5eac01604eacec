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
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from services.analytics.revenue.service import REVENUE_EVENTS
from shared.db import create_engine, create_session_factory
from shared.events.consumer import EventConsumer
from shared.events.kafka import create_producer
from shared.metrics import AppMetrics
from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
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
    """Empty analytics' revenue tables and inbox, then feed every message of booking's and
    payment's topics, from offset 0, through analytics' revenue consumer; returns how many."""
    engine = create_engine(database_url=database_url, schema="analytics")
    dead_letters = create_producer(bootstrap_servers, client_id="analytics-replay")
    metrics = AppMetrics("analytics-replay")
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await dead_letters.start()
    await reader.start()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "TRUNCATE analytics.revenue_day, analytics.revenue_provider_day, analytics.money_movement,"
                    " analytics.booking_fact"
                )
            )
            await connection.execute(
                text("DELETE FROM analytics.inbox_message WHERE consumer = :name"), {"name": REVENUE_EVENTS.name}
            )
        consumer = EventConsumer(
            spec=REVENUE_EVENTS,
            session_factory=create_session_factory(engine),
            bootstrap_servers=bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=metrics.consumer,
        )
        await reader.topics()  # fetches the topics' partitions
        partitions = [
            TopicPartition(topic, number)
            for topic in REVENUE_EVENTS.topics
            for number in sorted(reader.partitions_for_topic(topic) or ())
        ]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        replayed = 0

        async def behind() -> bool:
            return any([await reader.position(partition) < ends[partition] for partition in partitions])

        while await behind():
            for records in (await reader.getmany(timeout_ms=1000)).values():
                for record in records:
                    await consumer.handle_record(record)
                    replayed += 1
        assert not next(iter(metrics.consumer.dead_lettered.collect())).samples, "a replayed event was dead-lettered"
        return replayed
    finally:
        await reader.stop()
        await dead_letters.stop()
        await engine.dispose()


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
