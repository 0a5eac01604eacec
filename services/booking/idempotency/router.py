"""Answering a POST once per `Idempotency-Key`, for booking's routers."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from services.booking.idempotency import service

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A retry with the same key and body answers as the first call did and does nothing "
        "again; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED.",
    ),
]


async def answer_once(
    request: Request,
    *,
    user_id: UUID,
    key: str | None,
    body: dict[str, Any],
    status: int,
    answer: Callable[[], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """Run the use case behind `answer` once per key and caller; a retry with the same path and
    body gets the stored answer, another body 422 IDEMPOTENCY_KEY_REUSED."""
    stored = await service.answer_once(
        request.app.state.resources.session_factory,
        user_id=user_id,
        key=key,
        request={"path": request.url.path, "body": body},
        wait_seconds=request.app.state.idempotency_wait_seconds,
        status=status,
        answer=answer,
    )
    return JSONResponse(stored.body, status_code=stored.status)
