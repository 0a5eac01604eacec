"""How many messages wait in an app's dead-letter topics: each partition's end offset less its
beginning offset (what retention kept), read from the broker without joining a group."""

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition


async def dead_letter_depths(client: AIOKafkaConsumer, topics: list[str]) -> dict[str, int]:
    """The messages in each of `topics` (a started consumer with no group, used only to ask);
    a topic the broker does not know yet is left out."""
    await client.topics()  # refreshes the metadata the partitions are read from
    partitions = [
        TopicPartition(topic, partition) for topic in topics for partition in client.partitions_for_topic(topic) or ()
    ]
    if not partitions:
        return {}
    beginnings = await client.beginning_offsets(partitions)
    ends = await client.end_offsets(partitions)
    depths: dict[str, int] = {}
    for partition in partitions:
        depths[partition.topic] = depths.get(partition.topic, 0) + max(ends[partition] - beginnings[partition], 0)
    return depths
