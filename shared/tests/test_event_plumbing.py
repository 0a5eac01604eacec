"""Outbox → broker → consumer → inbox, against the real database and broker.

Each test has its own schema, and produces as a service named after it, so it has its own
topic, consumer group, inbox and dead-letter topic."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_session_factory, transaction
from shared.events.consumer import ConsumerSpec, EventConsumer, UnreadableVersion, handles
from shared.events.envelope import EventEnvelope, dead_letter_topic_for, topic_for
from shared.events.kafka import create_producer, ensure_topics
from shared.events.models import OutboxMessage
from shared.events.outbox import add_event
from shared.metrics import AppMetrics
from shared.tests.plumbing import (
    AppliedEffect,
    LengthMeasured,
    LengthMeasuredInCentimetres,
    PoisonArrived,
    ThingHappened,
    ThingHappenedWithNote,
    apply_thing_happened,
    create_schema,
    record_length,
    reject_poison,
    running_relay,
)

KEYS = ("k-alpha", "k-beta", "k-gamma", "k-delta")


@pytest.fixture
async def schema() -> str:
    return f"plumbing_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(database_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = await create_schema(database_url, schema)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def producer(bootstrap_servers: str, schema: str) -> AsyncIterator[AIOKafkaProducer]:
    await ensure_topics(bootstrap_servers, [topic_for(schema)], partitions=3, replication_factor=1)
    producer = create_producer(bootstrap_servers, client_id=f"test-{schema}")
    await producer.start()
    yield producer
    await producer.stop()


ConsumerFactory = Callable[..., Awaitable[EventConsumer]]

# Length is read as v2 only: v1 events reach it through their upcaster.
_HANDLERS = dict(
    [
        ((ThingHappened.event_type, 1), apply_thing_happened),
        ((PoisonArrived.event_type, 1), reject_poison),
        handles(LengthMeasured, record_length),
    ]
)


@pytest.fixture
async def start_consumer(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, producer: AIOKafkaProducer, schema: str
) -> AsyncIterator[ConsumerFactory]:
    """Starts consumers named after the test's schema, so every test has its own inbox and DLQ."""
    tasks: list[asyncio.Task[None]] = []

    async def start(
        *, group_suffix: str = "", max_attempts: int = 3, metrics: AppMetrics | None = None
    ) -> EventConsumer:
        name = f"consumer-{schema}"
        await ensure_topics(bootstrap_servers, [dead_letter_topic_for(name)], partitions=1, replication_factor=1)
        consumer = EventConsumer(
            spec=ConsumerSpec(
                name=name,
                topics=(topic_for(schema),),
                handlers=_HANDLERS,
            ),
            session_factory=sessions,
            bootstrap_servers=bootstrap_servers,
            dead_letter_producer=producer,
            metrics=(metrics or AppMetrics("test")).consumer,
            max_attempts=max_attempts,
            retry_backoff_seconds=0.01,
            group_id=f"{name}{group_suffix}",
        )
        tasks.append(asyncio.create_task(consumer.run()))
        return consumer

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _emit_things(sessions: async_sessionmaker[AsyncSession], schema: str, count: int) -> None:
    """Write `count` events spread over KEYS, a few per transaction, each with a state change."""
    for start in range(0, count, 10):
        async with transaction(sessions) as session:
            for seq in range(start, min(start + 10, count)):
                key = f"{schema}-{KEYS[seq % len(KEYS)]}"
                add_event(session, ThingHappened(key=key, seq=seq), producer=schema, key=key)


async def _effects(sessions: async_sessionmaker[AsyncSession]) -> list[AppliedEffect]:
    async with sessions() as session:
        return list((await session.scalars(select(AppliedEffect).order_by(AppliedEffect.id))).all())


async def _wait_for_effects(sessions: async_sessionmaker[AsyncSession], count: int, timeout: float = 30) -> None:
    async def reached() -> None:
        while len(await _effects(sessions)) < count:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), timeout)


async def _unpublished(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
        return int(count or 0)


def _assert_each_key_in_order_once(effects: list[AppliedEffect], count: int) -> None:
    assert sorted(effect.seq for effect in effects) == list(range(count)), "each event applied exactly once"
    by_key: dict[str, list[int]] = {}
    for effect in effects:
        by_key.setdefault(effect.key, []).append(effect.seq)
    for key, seqs in by_key.items():
        assert seqs == sorted(seqs), f"events of {key} applied out of order"


async def test_events_take_effect_once_and_in_order_per_key(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, start_consumer: ConsumerFactory
) -> None:
    await start_consumer()
    async with running_relay(sessions, bootstrap_servers, schema, batch_size=25):
        await _emit_things(sessions, schema, 200)
        await _wait_for_effects(sessions, 200)
    await asyncio.sleep(0.5)
    _assert_each_key_in_order_once(await _effects(sessions), 200)
    assert await _unpublished(sessions) == 0


async def test_a_rolled_back_transaction_publishes_nothing(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, start_consumer: ConsumerFactory
) -> None:
    await start_consumer()

    async def use_case_that_fails_after_queueing_its_event() -> None:
        async with transaction(sessions) as session:
            add_event(session, ThingHappened(key="doomed", seq=999), producer=schema, key="doomed")
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await use_case_that_fails_after_queueing_its_event()
    async with running_relay(sessions, bootstrap_servers, schema):
        await _emit_things(sessions, schema, 1)
        await _wait_for_effects(sessions, 1)
    assert [effect.seq for effect in await _effects(sessions)] == [0]


async def test_a_relay_killed_mid_way_loses_nothing_and_duplicates_no_effect(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    bootstrap_servers: str,
    schema: str,
    start_consumer: ConsumerFactory,
) -> None:
    total = 3000
    await _emit_things(sessions, schema, total)
    relay_process = [sys.executable, "-m", "shared.tests.plumbing", database_url, schema, bootstrap_servers, "20"]
    relay = subprocess.Popen(relay_process, env=dict(os.environ))
    try:
        while await _unpublished(sessions) > total * 3 // 4:
            await asyncio.sleep(0.01)
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait()
    left = await _unpublished(sessions)
    assert 0 < left < total, "the relay was killed part-way through the outbox"

    # Replays the window between "the broker has it" and "marked published": the first 40
    # published events go out a second time.
    async with transaction(sessions) as session:
        first_ids = select(OutboxMessage.id).order_by(OutboxMessage.id).limit(40).scalar_subquery()
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(first_ids)).values(published_at=None))

    await start_consumer()
    restarted = subprocess.Popen(relay_process, env=dict(os.environ))
    try:
        await _wait_for_effects(sessions, total, timeout=60)
        await asyncio.sleep(1.0)
    finally:
        restarted.terminate()
        restarted.wait()
    assert await _unpublished(sessions) == 0
    _assert_each_key_in_order_once(await _effects(sessions), total)


async def test_replaying_the_topic_from_the_start_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, start_consumer: ConsumerFactory
) -> None:
    first = await start_consumer()
    async with running_relay(sessions, bootstrap_servers, schema):
        await _emit_things(sessions, schema, 60)
        await _wait_for_effects(sessions, 60)
    before = [(effect.key, effect.seq) for effect in await _effects(sessions)]

    # A new consumer group reads the whole topic again from offset 0.
    replay_metrics = AppMetrics("replay")
    await start_consumer(group_suffix="-replay", metrics=replay_metrics)
    async with asyncio.timeout(30):
        while _consumed(replay_metrics, "duplicate") < 60:
            await asyncio.sleep(0.05)
    after = [(effect.key, effect.seq) for effect in await _effects(sessions)]
    assert after == before
    assert _consumed(replay_metrics, "applied") == 0
    assert first is not None


def _consumed(metrics: AppMetrics, outcome: str) -> float:
    return _sampled(metrics, "events_consumed_total", {"type": ThingHappened.event_type, "outcome": outcome})


def _sampled(metrics: AppMetrics, name: str, labels: dict[str, str]) -> float:
    return sum(
        sample.value
        for metric in metrics.registry.collect()
        for sample in metric.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def test_a_poison_message_lands_in_the_dead_letter_topic_after_n_tries(
    sessions: async_sessionmaker[AsyncSession],
    bootstrap_servers: str,
    schema: str,
    producer: AIOKafkaProducer,
    start_consumer: ConsumerFactory,
) -> None:
    consumer = await start_consumer(max_attempts=3)
    key = f"{schema}-poisoned"
    async with transaction(sessions) as session:
        add_event(session, PoisonArrived(note="cannot be applied"), producer=schema, key=key)
        add_event(session, ThingHappened(key=key, seq=0), producer=schema, key=key)
    await producer.send_and_wait(topic_for(schema), value=b"{not json", key=key.encode())
    async with running_relay(sessions, bootstrap_servers, schema):
        await _wait_for_effects(sessions, 1)

    dead_letters = await _read_dead_letters(bootstrap_servers, dead_letter_topic_for(f"consumer-{schema}"), count=2)
    by_error = {headers["error"].split(":")[0]: headers for headers in dead_letters}
    poison = next(headers for error, headers in by_error.items() if "ValueError" in error)
    assert poison["attempts"] == "3"
    assert poison["original_topic"] == topic_for(schema)
    undecodable = next(headers for error, headers in by_error.items() if "undecodable" in error)
    assert undecodable["attempts"] == "1"
    # The poison's partial effect was rolled back each time; the event behind it still applied.
    assert [(effect.key, effect.seq) for effect in await _effects(sessions)] == [(key, 0)]
    assert consumer is not None


async def _read_dead_letters(bootstrap_servers: str, topic: str, *, count: int) -> list[dict[str, str]]:
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest", group_id=f"reader-{uuid.uuid4()}"
    )
    await reader.start()
    found: list[dict[str, str]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                batches = await reader.getmany(timeout_ms=500)
                for records in batches.values():
                    found.extend({name: value.decode() for name, value in record.headers} for record in records)
    finally:
        await reader.stop()
    return found


def test_the_envelope_round_trips_through_bytes() -> None:
    envelope = EventEnvelope.wrap(ThingHappened(key="k", seq=1), producer="plumbingtest", key="k")
    again = EventEnvelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.parse_payload() == ThingHappened(key="k", seq=1)


async def test_a_newer_release_of_an_event_with_an_extra_field_is_applied_by_a_consumer_built_before_it(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, start_consumer: ConsumerFactory
) -> None:
    metrics = AppMetrics("rolling-update")
    await start_consumer(metrics=metrics)
    key = f"{schema}-newer"
    async with transaction(sessions) as session:
        add_event(
            session, ThingHappenedWithNote(key=key, seq=7, note="from the upgraded producer"), producer=schema, key=key
        )
    async with running_relay(sessions, bootstrap_servers, schema):
        await _wait_for_effects(sessions, 1)

    assert [(effect.key, effect.seq) for effect in await _effects(sessions)] == [(key, 7)]
    assert _consumed(metrics, "applied") == 1
    assert _sampled(metrics, "events_dead_lettered_total", {}) == 0


async def test_an_event_of_an_older_version_is_upcast_and_applied_by_a_consumer_written_for_the_newer(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, start_consumer: ConsumerFactory
) -> None:
    await start_consumer()
    key = f"{schema}-old"
    async with transaction(sessions) as session:
        add_event(session, LengthMeasuredInCentimetres(key=key, centimetres=12), producer=schema, key=key)
        add_event(session, LengthMeasured(key=key, millimetres=5), producer=schema, key=key)
    async with running_relay(sessions, bootstrap_servers, schema):
        await _wait_for_effects(sessions, 2)

    assert [(effect.key, effect.seq) for effect in await _effects(sessions)] == [(key, 120), (key, 5)]


async def test_a_version_newer_than_the_consumer_reads_is_dead_lettered_with_its_reason_not_dropped(
    sessions: async_sessionmaker[AsyncSession],
    bootstrap_servers: str,
    schema: str,
    producer: AIOKafkaProducer,
    start_consumer: ConsumerFactory,
) -> None:
    await start_consumer()
    key = f"{schema}-future"
    from_the_future = _envelope(LengthMeasured.event_type, 3, {"key": key, "micrometres": 5000}, producer=schema)
    await producer.send_and_wait(topic_for(schema), value=from_the_future.to_bytes(), key=key.encode())
    async with transaction(sessions) as session:
        add_event(session, ThingHappened(key=key, seq=1), producer=schema, key=key)
    async with running_relay(sessions, bootstrap_servers, schema):
        await _wait_for_effects(sessions, 1)

    (dead_letter,) = await _read_dead_letters(bootstrap_servers, dead_letter_topic_for(f"consumer-{schema}"), count=1)
    assert dead_letter["error"].startswith("unreadable version: plumbingtest.length_measured v3 is newer")
    assert dead_letter["attempts"] == "0"
    assert dead_letter["original_topic"] == topic_for(schema)
    assert [(effect.key, effect.seq) for effect in await _effects(sessions)] == [(key, 1)]


def _envelope(event_type: str, version: int, payload: dict[str, object], *, producer: str = "p") -> EventEnvelope:
    return EventEnvelope(
        type=event_type, version=version, occurred_at=datetime.now(UTC), producer=producer, key="k", payload=payload
    )


def test_a_version_with_its_own_handler_is_routed_to_it_unchanged() -> None:
    spec = ConsumerSpec(
        name="c",
        topics=("p.events",),
        handlers=dict([handles(LengthMeasuredInCentimetres, _unused), handles(LengthMeasured, record_length)]),
    )
    v1 = _envelope(LengthMeasured.event_type, 1, {"key": "k", "centimetres": 3})
    route = spec.route(v1)
    assert route is not None
    assert route[1] is v1
    assert spec.route(_envelope("other.type", 1, {})) is None, "a type it does not handle is not its business"


def test_an_older_version_without_an_upcaster_to_a_handled_one_is_unreadable() -> None:
    spec = ConsumerSpec(name="c", topics=("p.events",), handlers=dict([handles(ThingHappened, _unused)]))
    with pytest.raises(UnreadableVersion, match="v0 has no upcaster"):
        spec.route(_envelope(ThingHappened.event_type, 0, {"key": "k", "seq": 1}))


async def _unused(session: AsyncSession, event: object) -> None:
    raise AssertionError("only routed, never applied")


async def test_a_consumer_by_topic_pattern_reads_raw_records_of_every_matching_topic_but_its_own_dead_letters(
    sessions: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, producer: AIOKafkaProducer
) -> None:
    name = f"watcher-{schema}"
    first, later, unmatched = f"{schema}.first.dlq", f"{schema}.later.dlq", f"{schema}.dlq.not"

    async def keep_record(session: AsyncSession, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value == b"poison":
            raise ValueError("cannot keep this record")
        session.add(AppliedEffect(key=f"{record.topic}:{(record.value or b'').decode()}", seq=record.offset))

    spec = ConsumerSpec(
        name=name, topics=(), handlers={}, topic_pattern=rf".*{schema}.*\.dlq", record_handler=keep_record
    )
    await ensure_topics(
        bootstrap_servers, [first, unmatched, dead_letter_topic_for(name)], partitions=1, replication_factor=1
    )
    consumer = EventConsumer(
        spec=spec,
        session_factory=sessions,
        bootstrap_servers=bootstrap_servers,
        dead_letter_producer=producer,
        metrics=AppMetrics("test").consumer,
        max_attempts=2,
        retry_backoff_seconds=0.01,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await producer.send_and_wait(first, value=b"not an envelope")
        await producer.send_and_wait(first, value=b"poison")
        await producer.send_and_wait(unmatched, value=b"elsewhere")
        await ensure_topics(bootstrap_servers, [later], partitions=1, replication_factor=1)
        await producer.send_and_wait(later, value=b"created after the consumer started")
        await _wait_for_effects(sessions, 2)
        (dead_letter,) = await _read_dead_letters(bootstrap_servers, dead_letter_topic_for(name), count=1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert sorted(effect.key for effect in await _effects(sessions)) == [
        f"{first}:not an envelope",
        f"{later}:created after the consumer started",
    ]
    assert dead_letter["original_topic"] == first
    assert dead_letter["attempts"] == "2"
    # Its own dead-letter topic matches the pattern but is left out: what it failed on would come round.
    subscription = spec.subscription_pattern()
    assert subscription is not None
    assert subscription.match(first)
    assert not subscription.match(dead_letter_topic_for(name))


def test_a_consumer_names_topics_or_a_pattern_not_both() -> None:
    with pytest.raises(ValueError, match="one or the other"):
        ConsumerSpec(name="both", topics=("a.events",), handlers={}, topic_pattern=r".*\.dlq")
