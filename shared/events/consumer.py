"""Consuming events at least once, applying each exactly once.

A consumer is a named set of handlers by event type and version. Each message is applied in
one database transaction that also records `(consumer, event_id)` in the inbox, so a
redelivered or replayed event finds its inbox row and changes nothing. A message that keeps
failing is retried a bounded number of times, then published to the consumer's dead-letter
topic and skipped.

Versions: a handler reads one (type, version), with its payload model (`handles`); a consumer
may have one per version, or one for the newest version, reached by older events through the
upcasters registered with the contracts (`shared.events.envelope.register_upcaster`). An event
of a type the consumer has no handler for is not its business and is skipped. An event of a
type it handles but of a version it can neither read nor upcast (in practice a version newer
than this image knows, sent by a producer deployed first) is not dropped: it goes to the
dead-letter topic at once, with the reason in its `error` header, so it can be published back
to its original topic after the consumer is upgraded (the inbox keeps that replay from applying
it twice anywhere). Parking the partition instead would hold every later event of the topic
behind it for the length of a rollout.

Topics are named, or matched by a pattern (`ConsumerSpec.topic_pattern`): a topic created
later that matches is read too, once the consumer's metadata refresh finds it. A consumer may
read records as they are instead of as envelopes (`ConsumerSpec.record_handler`), for topics
whose messages are not events of a known type (dead letters, say): each record is applied in
one transaction, retried and dead-lettered like an event, but with no inbox row (a record has
no event id), so its handler must itself make a record read twice harmless. A pattern never
matches the consumer's own dead-letter topic: a dead letter it failed on would come round
again.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.context import correlation_id_var
from shared.events.envelope import EventEnvelope, EventPayload, dead_letter_topic_for, upcast
from shared.events.models import InboxMessage
from shared.metrics import ConsumerMetrics
from shared.tracing import carrier_from_kafka_headers, continue_trace

logger = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
RecordHandler = Callable[[AsyncSession, ConsumerRecord[bytes, bytes]], Awaitable[None]]
# (event type, version)
HandlerKey = tuple[str, int]
PayloadT = TypeVar("PayloadT", bound=EventPayload)


def handles(
    payload_type: type[PayloadT], apply: Callable[[AsyncSession, PayloadT], Awaitable[None]]
) -> tuple[HandlerKey, EventHandler]:
    """A handler entry for `ConsumerSpec.handlers` that receives the payload as its model, of
    the version that model is registered with."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        await apply(session, payload_type.model_validate(envelope.payload))

    return (payload_type.event_type, payload_type.event_version), handle


class UnreadableVersion(LookupError):
    """The consumer handles the event's type but cannot read this version of it."""


@dataclass(frozen=True)
class ConsumerSpec:
    """What an app consumes: its handlers keyed by (event type, version), and the topics they
    come from: named in `topics`, or every topic whose whole name matches `topic_pattern` (a
    regular expression), not both. With a `record_handler`, every record is handed to it as it
    is, and `handlers` is not used."""

    name: str
    topics: tuple[str, ...]
    handlers: Mapping[HandlerKey, EventHandler]
    topic_pattern: str | None = None
    record_handler: RecordHandler | None = None

    def __post_init__(self) -> None:
        if self.topic_pattern is not None and self.topics:
            raise ValueError(f"consumer {self.name} names topics and a topic pattern: one or the other")

    def subscription_pattern(self) -> re.Pattern[str] | None:
        """The topics of `topic_pattern` as the broker's metadata is matched: the whole name,
        the consumer's own dead-letter topic excepted."""
        if self.topic_pattern is None:
            return None
        own = re.escape(dead_letter_topic_for(self.name))
        return re.compile(rf"(?!{own}\Z)(?:{self.topic_pattern})\Z")

    def route(self, envelope: EventEnvelope) -> tuple[EventHandler, EventEnvelope] | None:
        """The handler for the envelope and the envelope as that handler reads it (upcast to its
        version when it is written for a newer one); None if the type is not this consumer's.
        Raises UnreadableVersion when the type is handled but this version cannot be read."""
        handler = self.handlers.get((envelope.type, envelope.version))
        if handler is not None:
            return handler, envelope
        versions = sorted(version for event_type, version in self.handlers if event_type == envelope.type)
        if not versions:
            return None
        for version in (version for version in versions if version > envelope.version):
            try:
                lifted = upcast(envelope.type, envelope.payload, from_version=envelope.version, to_version=version)
            except Exception as error:
                raise UnreadableVersion(f"{envelope.type} v{envelope.version} failed to upcast: {error!r}") from error
            if lifted is not None:
                return self.handlers[(envelope.type, version)], envelope.model_copy(
                    update={"version": version, "payload": lifted}
                )
        known = ", ".join(f"v{version}" for version in versions)
        if envelope.version > versions[-1]:
            raise UnreadableVersion(
                f"{envelope.type} v{envelope.version} is newer than this consumer reads ({known}): "
                "publish it again to its topic once the consumer is upgraded"
            )
        raise UnreadableVersion(f"{envelope.type} v{envelope.version} has no upcaster to a version read here ({known})")


class EventConsumer:
    def __init__(
        self,
        *,
        spec: ConsumerSpec,
        session_factory: async_sessionmaker[AsyncSession],
        bootstrap_servers: str,
        dead_letter_producer: AIOKafkaProducer,
        metrics: ConsumerMetrics,
        max_attempts: int = 5,
        retry_backoff_seconds: float = 0.2,
        group_id: str | None = None,
    ) -> None:
        self._spec = spec
        self._session_factory = session_factory
        self._bootstrap_servers = bootstrap_servers
        self._dead_letters = dead_letter_producer
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff_seconds
        self._group_id = group_id or spec.name
        self._kafka: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        """Consume until cancelled; partitions are handled concurrently, each strictly in order."""
        self._kafka = AIOKafkaConsumer(
            *self._spec.topics,
            bootstrap_servers=self._bootstrap_servers,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5_000,
        )
        pattern = self._spec.subscription_pattern()
        if pattern is not None:
            self._kafka.subscribe(pattern=pattern.pattern)
        try:
            await self._kafka.start()
            while True:
                batches = await self._kafka.getmany(timeout_ms=500, max_records=500)
                await asyncio.gather(*(self._handle_partition(tp, records) for tp, records in batches.items()))
                await self._record_lag()
        finally:
            await self._kafka.stop()

    async def _handle_partition(self, partition: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        assert self._kafka is not None
        next_offset: int | None = None
        try:
            for record in records:
                await self.handle_record(record)
                next_offset = record.offset + 1
        finally:
            # Committed once per batch, and when the consumer is stopped (a shutdown cancels it)
            # or fails mid-batch, up to what was applied. After a crash the rest is read again,
            # and the inbox drops what was already applied.
            if next_offset is not None:
                await self._kafka.commit({partition: next_offset})

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one message, retrying and finally dead-lettering it; never raises for bad data.

        The message is handled in a span whose parent is the trace context in its headers (the
        work that wrote the event), so what the handler does, and the events it writes, are part
        of that trace: one booking is one trace across the services it passes through."""
        with continue_trace(
            carrier_from_kafka_headers(record.headers),
            f"{self._spec.name} process {record.topic}",
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self._group_id,
            },
        ):
            await self._handle_record(record)

    async def _handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if self._spec.record_handler is not None:
            record_handler = self._spec.record_handler
            await self._apply_with_retries(
                record,
                what=f"{record.topic}[{record.partition}]@{record.offset}",
                # A raw record has no event type: it is counted under its topic.
                event_type=record.topic,
                apply=lambda: self._apply_record(record, record_handler),
            )
            return
        try:
            envelope = EventEnvelope.from_bytes(record.value or b"")
        except (ValidationError, ValueError) as error:
            await self._dead_letter(record, f"undecodable envelope: {error}", attempts=1)
            return
        try:
            route = self._spec.route(envelope)
        except UnreadableVersion as error:
            await self._dead_letter(record, f"unreadable version: {error}", attempts=0)
            return
        if route is None:
            return
        handler, readable = route
        await self._apply_with_retries(
            record,
            what=f"{envelope.type} {envelope.event_id}",
            event_type=envelope.type,
            apply=lambda: self._apply(readable, handler),
        )

    async def _apply_with_retries(
        self,
        record: ConsumerRecord[bytes, bytes],
        *,
        what: str,
        event_type: str,
        apply: Callable[[], Awaitable[bool]],
    ) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                applied = await apply()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning(
                    "consumer %s failed on %s (attempt %d of %d): %r",
                    self._spec.name,
                    what,
                    attempt,
                    self._max_attempts,
                    error,
                )
                if attempt == self._max_attempts:
                    await self._dead_letter(record, repr(error), attempts=attempt)
                    return
                await asyncio.sleep(self._retry_backoff * 2 ** (attempt - 1))
            else:
                self._metrics.processed.labels(self._spec.name, event_type, "applied" if applied else "duplicate").inc()
                return

    async def _apply_record(self, record: ConsumerRecord[bytes, bytes], handler: RecordHandler) -> bool:
        async with self._session_factory() as session, session.begin():
            await handler(session, record)
        return True

    async def _apply(self, envelope: EventEnvelope, handler: EventHandler) -> bool:
        """Run the handler and record the inbox row in one transaction; False if seen before."""
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            async with self._session_factory() as session, session.begin():
                inserted = await session.scalar(
                    insert(InboxMessage)
                    .values(consumer=self._spec.name, event_id=envelope.event_id, event_type=envelope.type)
                    .on_conflict_do_nothing()
                    .returning(InboxMessage.event_id)
                )
                if inserted is None:
                    return False
                await handler(session, envelope)
                return True
        finally:
            correlation_id_var.reset(token)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str, *, attempts: int) -> None:
        logger.error(
            "consumer %s dead-letters %s[%d]@%d after %d attempt(s): %s",
            self._spec.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            reason,
        )
        headers = [
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("attempts", str(attempts).encode()),
            ("error", reason[:1000].encode()),
        ]
        await self._dead_letters.send_and_wait(
            dead_letter_topic_for(self._spec.name), value=record.value, key=record.key, headers=headers
        )
        self._metrics.dead_lettered.labels(self._spec.name, record.topic).inc()

    async def _record_lag(self) -> None:
        assert self._kafka is not None
        for partition in self._kafka.assignment():
            highwater = self._kafka.highwater(partition)
            if highwater is None:
                continue
            position = await self._kafka.position(partition)
            self._metrics.lag.labels(self._spec.name, partition.topic, str(partition.partition)).set(
                max(highwater - position, 0)
            )
