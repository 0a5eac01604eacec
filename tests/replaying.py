"""Rebuilding a read model from events only, as the end-to-end tests prove it: empty its tables
and its consumer's inbox, then feed every message of its topics from offset 0 (each partition at
its own pace, as a reset consumer group reads them) through the consumer the service runs."""

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from shared.db import create_engine, create_session_factory
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.kafka import create_producer
from shared.metrics import AppMetrics


async def replay_into_empty_tables(
    spec: ConsumerSpec, tables: Sequence[str], *, schema: str, database_url: str, bootstrap_servers: str
) -> int:
    """Empty `tables` of `schema` and `spec`'s inbox, replay `spec`'s topics from the start
    through it, and say how many messages it read; a dead-lettered one fails the test."""
    engine = create_engine(database_url=database_url, schema=schema)
    dead_letters = create_producer(bootstrap_servers, client_id=f"{spec.name}-replay")
    metrics = AppMetrics(f"{spec.name}-replay".replace(".", "-"))
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await dead_letters.start()
    await reader.start()
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {', '.join(f'{schema}.{table}' for table in tables)}"))
            await connection.execute(
                text(f"DELETE FROM {schema}.inbox_message WHERE consumer = :name"), {"name": spec.name}
            )
        consumer = EventConsumer(
            spec=spec,
            session_factory=create_session_factory(engine),
            bootstrap_servers=bootstrap_servers,
            dead_letter_producer=dead_letters,
            metrics=metrics.consumer,
        )
        await reader.topics()  # fetches the topics' partitions
        partitions = [
            TopicPartition(topic, number)
            for topic in spec.topics
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
