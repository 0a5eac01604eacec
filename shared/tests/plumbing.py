"""A throwaway schema with the outbox, the inbox and one effect table, and test event types,
for testing the event plumbing against the real database and broker."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, String, func, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlumbingBase, create_engine, create_session_factory, new_metadata
from shared.events.envelope import EventEnvelope, EventPayload, register_event, register_upcaster
from shared.events.kafka import create_producer
from shared.events.outbox import OutboxRelay


class EffectBase(DeclarativeBase):
    metadata = new_metadata()


class AppliedEffect(EffectBase):
    """One row per applied `thing.happened`; `id` records the order they were applied in."""

    __tablename__ = "applied_effect"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int]
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@register_event("plumbingtest.thing_happened", version=1)
class ThingHappened(EventPayload):
    key: str
    seq: int


class ThingHappenedWithNote(ThingHappened):
    """The producer's next release of `thing_happened` v1: one optional field more, so the same
    version. Not registered: consumers still run the image that knows only ThingHappened."""

    note: str | None = None


@register_event("plumbingtest.length_measured", version=1)
class LengthMeasuredInCentimetres(EventPayload):
    key: str
    centimetres: int


@register_event("plumbingtest.length_measured", version=2)
class LengthMeasured(EventPayload):
    """v2 changed the unit: a breaking change, hence a version and an upcaster from v1."""

    key: str
    millimetres: int


@register_upcaster("plumbingtest.length_measured", from_version=1)
def length_in_millimetres(payload: dict[str, Any]) -> dict[str, Any]:
    return {"key": payload["key"], "millimetres": payload["centimetres"] * 10}


async def record_length(session: AsyncSession, measured: LengthMeasured) -> None:
    session.add(AppliedEffect(key=measured.key, seq=measured.millimetres))


@register_event("plumbingtest.poison_arrived", version=1)
class PoisonArrived(EventPayload):
    note: str


async def apply_thing_happened(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = envelope.parse_payload()
    assert isinstance(payload, ThingHappened)
    session.add(AppliedEffect(key=payload.key, seq=payload.seq))


async def reject_poison(session: AsyncSession, envelope: EventEnvelope) -> None:
    session.add(AppliedEffect(key="poison", seq=-1))
    await session.flush()
    raise ValueError(f"cannot apply {envelope.type}")


async def create_schema(database_url: str, schema: str) -> AsyncEngine:
    """A fresh schema holding the plumbing tables and the effect table; returns its engine."""
    engine = create_engine(database_url=database_url, schema=schema)
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(PlumbingBase.metadata.create_all)
        await connection.run_sync(EffectBase.metadata.create_all)
    return engine


@asynccontextmanager
async def running_relay(
    session_factory: async_sessionmaker[AsyncSession], bootstrap_servers: str, schema: str, *, batch_size: int = 50
) -> AsyncIterator[OutboxRelay]:
    producer = create_producer(bootstrap_servers, client_id=f"relay-{schema}")
    await producer.start()
    relay = OutboxRelay(
        session_factory=session_factory, producer=producer, lock_name=f"outbox:{schema}", batch_size=batch_size
    )
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()


async def _relay_forever(database_url: str, schema: str, bootstrap_servers: str, batch_size: int) -> None:
    engine = create_engine(database_url=database_url, schema=schema)
    async with running_relay(create_session_factory(engine), bootstrap_servers, schema, batch_size=batch_size):
        await asyncio.Event().wait()


if __name__ == "__main__":
    # A relay in a process of its own, so a test can kill it with SIGKILL mid-batch.
    database_url_arg, schema_arg, bootstrap_arg, batch_arg = sys.argv[1:5]
    asyncio.run(_relay_forever(database_url_arg, schema_arg, bootstrap_arg, int(batch_arg)))
