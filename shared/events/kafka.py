"""Kafka clients configured the way every app uses them."""

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

logger = logging.getLogger(__name__)


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    # acks=all: an event counts as published only once every in-sync replica has it.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


async def ensure_topics(bootstrap_servers: str, topics: list[str], *, partitions: int, replication_factor: int) -> None:
    """Create the topics an app writes to if they are missing (production declares them too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="topic-setup")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in topics if topic not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [
                    NewTopic(name=topic, num_partitions=partitions, replication_factor=replication_factor)
                    for topic in missing
                ]
            )
        except TopicAlreadyExistsError:
            logger.info("topics created concurrently by another app: %s", missing)
    finally:
        await admin.close()
