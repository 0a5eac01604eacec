"""`Idempotency-Key`: a retry with the same key and body gets the first answer and does
nothing again; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED. Concurrent
retries wait for the first to finish rather than running the use case twice."""

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.idempotency.models import IdempotencyRecord
from shared.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def claim(
    session_factory: async_sessionmaker[AsyncSession], *, user_id: UUID, key: str, body_hash: str, wait_seconds: float
) -> StoredResponse | None:
    """None when this request owns the key and should run; the first answer for a retry."""
    deadline = time.monotonic() + wait_seconds
    while True:
        async with session_factory() as session, session.begin():
            claimed = await session.scalar(
                insert(IdempotencyRecord)
                .values(user_id=user_id, key=key, request_hash=body_hash)
                .on_conflict_do_nothing()
                .returning(IdempotencyRecord.key)
            )
            if claimed is not None:
                return None
            record = await session.scalar(
                select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
            )
        if record is None:
            continue  # released between our insert and our read; try to claim it again
        if record.request_hash != body_hash:
            raise InvalidInput(
                "This Idempotency-Key was used with another request.", error_code="IDEMPOTENCY_KEY_REUSED"
            )
        if record.state == "completed" and record.response_status is not None and record.response_body is not None:
            return StoredResponse(status=record.response_status, body=record.response_body)
        if time.monotonic() >= deadline:
            raise Conflict("The first request with this key is still running.", error_code="IDEMPOTENCY_IN_PROGRESS")
        await asyncio.sleep(0.05)


async def complete(
    session_factory: async_sessionmaker[AsyncSession], *, user_id: UUID, key: str, status: int, body: dict[str, Any]
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
            .values(state="completed", response_status=status, response_body=body)
        )


async def release(session_factory: async_sessionmaker[AsyncSession], *, user_id: UUID, key: str) -> None:
    """Forget a claim whose request failed, so the client's retry runs it again."""
    async with session_factory() as session, session.begin():
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
        )


async def answer_once(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    user_id: UUID,
    key: str | None,
    request: dict[str, Any],
    wait_seconds: float,
    status: int,
    answer: Callable[[], Awaitable[dict[str, Any]]],
) -> StoredResponse:
    """Run a use case once per `Idempotency-Key` (every time without one): `request` is what
    a retry must repeat (the path and the body), `answer` runs the use case and gives the body
    to answer with `status`. A failed run forgets the key, so a retry runs it again."""
    if key is None:
        return StoredResponse(status=status, body=await answer())
    replay = await claim(
        session_factory, user_id=user_id, key=key, body_hash=request_hash(request), wait_seconds=wait_seconds
    )
    if replay is not None:
        return replay
    try:
        body = await answer()
    except Exception:
        await release(session_factory, user_id=user_id, key=key)
        raise
    await complete(session_factory, user_id=user_id, key=key, status=status, body=body)
    return StoredResponse(status=status, body=body)
