from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.booking.deps import CallerUpstreams, PublicInventory, SettingsDep, UpstreamPoolsDep
from services.booking.history.service import Origin
from services.booking.idempotency.router import IdempotencyKey, answer_once
from services.booking.requests import service
from services.booking.requests.domain import Status
from services.booking.requests.models import BookingRequest
from services.booking.requests.schemas import (
    BookingRequestCreate,
    BookingRequestOut,
    BookingRequestPage,
    CancelBookingRequest,
    CounterOfferCreate,
    DeclineRequest,
)
from shared.auth import CurrentIdentity, require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    FORBIDDEN,
    HOLD_REFUSALS,
    IDEMPOTENCY_REFUSALS,
    INVALID_TRANSITION,
    NO_SUCH_SLOT,
    NOT_FOUND,
    NOT_REQUEST_BOOKABLE,
    PARTY_TOO_LARGE,
    PAYMENT_REFUSALS,
    QUOTE_ONLY,
    REFERENCE_EXHAUSTED,
    REQUEST_EXISTS,
    SLOT_CLOSED,
    SOLD_OUT,
    TOO_MANY_OPEN_REQUESTS,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/booking-requests", tags=["BookingRequests"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


async def _once(
    request: Request,
    caller: Identity,
    key: str | None,
    body: dict[str, Any],
    status: int,
    use_case: Callable[[], Awaitable[BookingRequest]],
) -> JSONResponse:
    """Answer a POST that books once per Idempotency-Key."""

    async def answer() -> dict[str, Any]:
        return service.request_out(await use_case()).model_dump(mode="json")

    return await answer_once(request, user_id=caller.user_id, key=key, body=body, status=status, answer=answer)


@router.post(
    "",
    status_code=201,
    response_model=BookingRequestOut,
    responses=problems(
        NOT_FOUND,
        NOT_REQUEST_BOOKABLE,
        REQUEST_EXISTS,
        TOO_MANY_OPEN_REQUESTS,
        QUOTE_ONLY,
        SLOT_CLOSED,
        SOLD_OUT,
        PARTY_TOO_LARGE,
        *IDEMPOTENCY_REFUSALS,
        BAD_GATEWAY,
    ),
)
async def create_booking_request(
    body: BookingRequestCreate,
    traveler: Traveler,
    upstreams: CallerUpstreams,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _once(
        request,
        traveler,
        idempotency_key,
        body.model_dump(mode="json"),
        201,
        lambda: service.create_request(
            session,
            traveler=traveler,
            request=body,
            inventory=upstreams.inventory,
            deadlines=settings.request_deadlines(),
            max_open_requests=settings.max_open_requests_per_traveler,
            clock=request.app.state.clock,
        ),
    )


@router.get("")
async def list_booking_requests(
    viewer: CurrentIdentity,
    session: SessionDep,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> BookingRequestPage:
    found, next_cursor = await service.list_requests(session, viewer=viewer, status=status, limit=limit, cursor=cursor)
    return BookingRequestPage(items=[service.request_out(item) for item in found], next_cursor=next_cursor)


@router.get("/{request_id}")
async def read_booking_request(request_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> BookingRequestOut:
    return service.request_out(await service.get_request(session, request_id=request_id, viewer=viewer))


@router.post(
    "/{request_id}/accept",
    response_model=BookingRequestOut,
    responses=problems(
        FORBIDDEN,
        INVALID_TRANSITION,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        *IDEMPOTENCY_REFUSALS,
        REFERENCE_EXHAUSTED,
        BAD_GATEWAY,
    ),
)
async def accept_booking_request(
    request_id: UUID,
    provider: CurrentIdentity,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    upstreams: UpstreamPoolsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _once(
        request,
        provider,
        idempotency_key,
        {},
        200,
        lambda: service.accept_request(
            session,
            request_id=request_id,
            provider=provider,
            origin=Origin.of(request),
            upstreams=upstreams,
            payment_seconds=settings.request_payment_seconds,
            clock=request.app.state.clock,
        ),
    )


@router.post("/{request_id}/decline", responses=problems(FORBIDDEN, INVALID_TRANSITION, BAD_GATEWAY))
async def decline_booking_request(
    request_id: UUID,
    provider: CurrentIdentity,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    inventory: PublicInventory,
    body: DeclineRequest | None = None,
) -> BookingRequestOut:
    declined = await service.decline_request(
        session,
        request_id=request_id,
        provider=provider,
        reason=body.reason if body else None,
        inventory=inventory,
        alternative_days=settings.request_alternative_days,
        clock=request.app.state.clock,
    )
    return service.request_out(declined)


@router.post(
    "/{request_id}/counter-offer",
    responses=problems(FORBIDDEN, NO_SUCH_SLOT, INVALID_TRANSITION, SLOT_CLOSED, SOLD_OUT, BAD_GATEWAY),
)
async def make_counter_offer(
    request_id: UUID,
    body: CounterOfferCreate,
    provider: CurrentIdentity,
    upstreams: CallerUpstreams,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> BookingRequestOut:
    countered = await service.counter_offer(
        session,
        request_id=request_id,
        provider=provider,
        offer=body,
        inventory=upstreams.inventory,
        deadlines=settings.request_deadlines(),
        clock=request.app.state.clock,
    )
    return service.request_out(countered)


@router.post(
    "/{request_id}/accept-counter",
    response_model=BookingRequestOut,
    responses=problems(
        FORBIDDEN,
        INVALID_TRANSITION,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        *IDEMPOTENCY_REFUSALS,
        REFERENCE_EXHAUSTED,
        BAD_GATEWAY,
    ),
)
async def accept_counter_offer(
    request_id: UUID,
    traveler: CurrentIdentity,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    upstreams: UpstreamPoolsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _once(
        request,
        traveler,
        idempotency_key,
        {},
        200,
        lambda: service.accept_counter_offer(
            session,
            request_id=request_id,
            traveler=traveler,
            origin=Origin.of(request),
            upstreams=upstreams,
            payment_seconds=settings.request_payment_seconds,
            clock=request.app.state.clock,
        ),
    )


@router.post("/{request_id}/cancel", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def cancel_booking_request(
    request_id: UUID,
    traveler: CurrentIdentity,
    request: Request,
    session: SessionDep,
    body: CancelBookingRequest | None = None,
) -> BookingRequestOut:
    cancelled = await service.cancel_request(
        session,
        request_id=request_id,
        traveler=traveler,
        reason=body.reason if body else None,
        clock=request.app.state.clock,
    )
    return service.request_out(cancelled)
