"""A consumer stopped mid-batch (an app shutting down cancels it) commits what it applied, so
its successor starts after it rather than reading the batch again."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_session_factory, transaction
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.envelope import EventEnvelope, dead_letter_topic_for, topic_for
from shared.events.kafka import create_producer, ensure_topics
from shared.events.outbox import OutboxRelay, add_event
from shared.metrics import AppMetrics
from shared.tests.plumbing import ThingHappened, apply_thing_happened, create_schema

EVENTS = 5
STUCK_AT = 3


@pytest.fixture
async def schema() -> str:
    return f"plumbing_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(database_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = await create_schema(database_url, schema)
    yield engine
    await engine.dispose()


async def _committed(bootstrap_servers: str, group: str, partition: TopicPartition) -> int | None:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        committed: int | None = await reader.committed(partition)
        return committed
    finally:
        await reader.stop()


async def test_a_consumer_cancelled_mid_batch_commits_the_records_it_applied(
    engine: AsyncEngine, bootstrap_servers: str, schema: str
) -> None:
    sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    topic = topic_for(schema)
    name = f"consumer-{schema}"
    await ensure_topics(bootstrap_servers, [topic, dead_letter_topic_for(name)], partitions=1, replication_factor=1)
    async with transaction(sessions) as session:
        for seq in range(EVENTS):
            add_event(session, ThingHappened(key="one-key", seq=seq), producer=schema, key="one-key")
    producer = create_producer(bootstrap_servers, client_id=name)
    await producer.start()
    relay = OutboxRelay(session_factory=sessions, producer=producer, lock_name=f"outbox:{schema}")
    assert await relay.publish_pending_batch() == EVENTS

    stuck = asyncio.Event()

    async def apply_until_stuck(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = envelope.parse_payload()
        assert isinstance(payload, ThingHappened)
        if payload.seq == STUCK_AT:
            stuck.set()
            await asyncio.Event().wait()
        await apply_thing_happened(session, envelope)

    consumer = EventConsumer(
        spec=ConsumerSpec(name=name, topics=(topic,), handlers={(ThingHappened.event_type, 1): apply_until_stuck}),
        session_factory=sessions,
        bootstrap_servers=bootstrap_servers,
        dead_letter_producer=producer,
        metrics=AppMetrics("test").consumer,
        max_attempts=1,
        retry_backoff_seconds=0.01,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(stuck.wait(), timeout=30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await producer.stop()

    assert await _committed(bootstrap_servers, name, TopicPartition(topic, 0)) == STUCK_AT
