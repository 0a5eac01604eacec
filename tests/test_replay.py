"""Every event takes effect once: after bookings are paid, cancelled, refunded, modified and
failed, replaying every topic booking consumes from the very start changes nothing that booking
keeps (its bookings, their history, modifications, waitlist and the rest) and publishes nothing."""

import asyncio
import json
import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from services.booking.main import build_app
from services.booking.settings import BookingSettings
from shared.db import create_engine, create_session_factory
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.kafka import create_producer
from shared.metrics import AppMetrics
from tests.flows import listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Noa", "email": "noa@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _booked(gateway: httpx.Client, traveler: dict[str, str], slot_id: str, adults: int) -> dict[str, Any]:
    created = gateway.post(
        "/api/v1/bookings", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    return booking


def _bookings_of_every_kind(platform: PlatformPorts, gateway: httpx.Client) -> None:
    """Confirmed; cancelled and refunded; modified with a refund; failed; expired unpaid."""
    stripe = f"http://127.0.0.1:{platform.stripe}"
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    # A slot each: a traveler holds a slot once at a time, and an unpaid booking keeps its hold.
    slot_ids = [
        listing_with_slot(gateway, provider, capacity=20, on=date.today() + timedelta(days=30))[1] for _ in range(5)
    ]
    paid = [
        _booked(gateway, traveler, slot_id, adults) for slot_id, adults in zip(slot_ids[:3], (1, 2, 3), strict=True)
    ]
    for booking in paid:
        assert pay(stripe, booking["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
    declined = _booked(gateway, traveler, slot_ids[3], 1)
    pay(stripe, declined["payment"]["payment_intent_id"], "pm_card_chargeCustomerFail")
    unpaid = _booked(gateway, traveler, slot_ids[4], 1)
    confirmed, cancelled, modified = (wait_for_status(gateway, b["id"], traveler, "confirmed") for b in paid)
    assert gateway.post(
        f"/api/v1/bookings/{cancelled['id']}/cancel", json={"reason": "plans changed"}, headers=traveler
    ).is_success
    assert gateway.patch(f"/api/v1/bookings/{modified['id']}", json={"adults": 1}, headers=traveler).is_success
    assert gateway.post(
        f"/api/v1/bookings/{unpaid['id']}/cancel", json={"reason": "changed my mind"}, headers=traveler
    ).is_success
    wait_for_status(gateway, cancelled["id"], traveler, "refunded")
    wait_for_status(gateway, declined["id"], traveler, "payment_failed")
    deadline = time.monotonic() + 30
    while gateway.get(f"/api/v1/bookings/{modified['id']}", headers=traveler).json()["adults"] != 1:
        assert time.monotonic() < deadline, "the modification was not applied"
        time.sleep(0.2)
    assert confirmed["status"] == "confirmed"


async def _booking_state(database_url: str) -> dict[str, list[str]]:
    """Every row booking keeps, by table; of the outbox, which events it holds."""
    engine = create_engine(database_url=database_url, schema="booking")
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'booking' AND table_type = 'BASE TABLE'"
                    )
                )
            ).all()
            state: dict[str, list[str]] = {}
            for table in sorted(tables):
                rows = (
                    "SELECT id::text FROM booking.outbox_message"
                    if table == "outbox_message"
                    else (f'SELECT to_jsonb(t)::text FROM booking."{table}" t')
                )
                state[table] = sorted((await connection.scalars(text(rows))).all())
            return state
    finally:
        await engine.dispose()


async def _settled_state(database_url: str, within: float = 30) -> dict[str, list[str]]:
    """The state once nothing has changed for two seconds: the flows' last events are in."""
    deadline = time.monotonic() + within
    state = await _booking_state(database_url)
    while time.monotonic() < deadline:
        await asyncio.sleep(2)
        again = await _booking_state(database_url)
        if again == state:
            return state
        state = again
    raise AssertionError("booking's state kept changing")


async def _replay_inputs(database_url: str, bootstrap_servers: str) -> int:
    """Feed every message on booking's input topics, from offset 0, through booking's own
    consumers (as a consumer group reset to the earliest offset would); returns how many."""
    settings = BookingSettings(database_url=database_url, kafka_bootstrap_servers=bootstrap_servers)
    specs = build_app(settings).state.consumer_sources
    assert all(isinstance(spec, ConsumerSpec) for spec in specs)
    engine = create_engine(database_url=database_url, schema="booking")
    dead_letters = create_producer(bootstrap_servers, client_id="booking-replay")
    metrics = AppMetrics("booking-replay")
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await dead_letters.start()
    await reader.start()
    try:
        consumers = [
            EventConsumer(
                spec=spec,
                session_factory=create_session_factory(engine),
                bootstrap_servers=bootstrap_servers,
                dead_letter_producer=dead_letters,
                metrics=metrics.consumer,
            )
            for spec in specs
        ]
        topics = sorted({topic for spec in specs for topic in spec.topics})
        await reader.topics()  # fetches the topics' partitions
        partitions = [
            TopicPartition(topic, number)
            for topic in topics
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
                    for spec, consumer in zip(specs, consumers, strict=True):
                        if record.topic in spec.topics:
                            await consumer.handle_record(record)
                    replayed += 1
        assert not next(iter(metrics.consumer.dead_lettered.collect())).samples, "a replayed event was dead-lettered"
        return replayed
    finally:
        await reader.stop()
        await dead_letters.stop()
        await engine.dispose()


def test_replaying_bookings_input_topics_from_the_start_changes_no_booking(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str, bootstrap_servers: str
) -> None:
    _bookings_of_every_kind(platform, gateway)
    before = asyncio.run(_settled_state(database_url))
    assert before["booking"], "there are bookings to replay onto"

    replayed = asyncio.run(_replay_inputs(database_url, bootstrap_servers))

    assert replayed > 20
    after = asyncio.run(_booking_state(database_url))
    changed = {table: rows for table, rows in after.items() if rows != before.get(table)}
    assert not changed, json.dumps(changed)[:3000]
