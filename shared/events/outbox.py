"""The transactional outbox: events are rows written with the state change, and a relay
publishes them to Kafka afterwards (at least once, in order per aggregate key)."""

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.context import correlation_id_var
from shared.events.envelope import EventEnvelope, EventPayload, topic_for
from shared.events.models import OutboxMessage
from shared.tracing import attached, current_trace_carrier, kafka_headers, untraced

logger = logging.getLogger(__name__)

# Set on a session that queued an event, so its commit can wake the relay at once.
OUTBOX_WRITTEN = "outbox_written"


def add_event(
    session: AsyncSession,
    payload: EventPayload,
    *,
    producer: str,
    key: str,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Queue an event in the caller's transaction; it is published only if that commits."""
    envelope = EventEnvelope.wrap(
        payload,
        producer=producer,
        key=key,
        occurred_at=occurred_at,
        correlation_id=correlation_id_var.get(),
        trace_context=current_trace_carrier(),
    )
    session.info[OUTBOX_WRITTEN] = True
    session.add(
        OutboxMessage(
            event_id=envelope.event_id,
            topic=topic_for(producer),
            key=key,
            event_type=envelope.type,
            envelope=envelope.model_dump(mode="json"),
        )
    )
    return envelope


async def add_event_once(
    session: AsyncSession,
    payload: EventPayload,
    *,
    producer: str,
    key: str,
    event_id: UUID,
    occurred_at: datetime | None = None,
) -> bool:
    """Queue an event under an id the caller derives from what it announces, in the caller's
    transaction, unless the outbox holds that id already; True if queued. Work that may be done
    twice (sent again after a crash) announces it under the same id, so the outbox, or past its
    retention the consumers' inboxes, drop the repeat."""
    envelope = EventEnvelope.wrap(
        payload,
        producer=producer,
        key=key,
        occurred_at=occurred_at,
        correlation_id=correlation_id_var.get(),
        trace_context=current_trace_carrier(),
    ).model_copy(update={"event_id": event_id})
    queued = await session.scalar(
        insert(OutboxMessage)
        .values(
            event_id=envelope.event_id,
            topic=topic_for(producer),
            key=key,
            event_type=envelope.type,
            envelope=envelope.model_dump(mode="json"),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(OutboxMessage.id)
    )
    if queued is None:
        return False
    session.info[OUTBOX_WRITTEN] = True
    return True


class OutboxRelay:
    """Publishes an app's outbox to Kafka.

    Only one relay per schema publishes at a time (a transaction-scoped advisory lock), and
    rows go out in id order, so one key's events reach its partition in the order they were
    written. A row is marked published only after the broker acknowledged it (acks=all); a
    relay that dies in between publishes it again, and consumers' inboxes drop the repeat.
    """

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        lock_name: str,
        batch_size: int = 200,
        poll_interval_seconds: float = 0.1,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._session_factory = session_factory
        self._producer = producer
        self._lock_name = lock_name
        self._batch_size = batch_size
        self._poll_interval = poll_interval_seconds
        self._retention = retention
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        """Publish soon: called after a commit that wrote to the outbox."""
        self._wakeup.set()

    async def publish_pending_batch(self) -> int:
        """Publish up to one batch of unpublished events; returns how many were published."""
        async with self._session_factory() as session, session.begin():
            has_lock = await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(self._lock_name))))
            if not has_lock:
                return 0
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.envelope)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            deliveries = [await self._send(row.topic, row.key, row.envelope) for row in rows]
            await asyncio.gather(*deliveries)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(published_at=func.now())
            )
            return len(rows)

    async def _send(self, topic: str, key: str, envelope: dict[str, Any]) -> "asyncio.Future[object]":
        """Hand one event to the producer, with the trace context it was written in as W3C
        headers (first, so a consumer reads them before any the Kafka instrumentation adds)."""
        trace_context: dict[str, str] = envelope.get("trace_context") or {}
        with attached(trace_context):
            delivery: asyncio.Future[object] = await self._producer.send(
                topic,
                value=json.dumps(envelope).encode(),
                key=key.encode(),
                headers=[*kafka_headers(trace_context), ("event_type", str(envelope["type"]).encode())],
            )
        return delivery

    async def purge_published(self) -> int:
        """Forget events published longer ago than the retention."""
        cutoff = datetime.now(UTC) - self._retention
        async with self._session_factory() as session, session.begin():
            result = await session.execute(delete(OutboxMessage).where(OutboxMessage.published_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    async def run(self) -> None:
        """Publish until cancelled; backs off on broker or database errors."""
        failures = 0
        while True:
            try:
                with untraced():
                    published = await self.publish_pending_batch()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                logger.exception("outbox relay %s failed to publish (attempt %d)", self._lock_name, failures)
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))
                continue
            if published < self._batch_size:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_interval)


async def outbox_lag(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, float]:
    """How many events wait to be published, and the age in seconds of the oldest."""
    async with session_factory() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.published_at.is_(None))
            )
        ).one()
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return int(count), max(age, 0.0)
