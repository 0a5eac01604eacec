from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.booking.bookings import service
from services.booking.bookings.schemas import BookingCreate, BookingOut, BookingPage
from services.booking.deps import CallerUpstreams, SettingsDep
from services.booking.history.service import Origin
from services.booking.idempotency.router import IdempotencyKey, answer_once
from shared.auth import CurrentIdentity, require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    BOOKING_NOT_STARTED,
    FORBIDDEN,
    HOLD_REFUSALS,
    IDEMPOTENCY_REFUSALS,
    INVALID_TRANSITION,
    NOT_FOUND,
    PAYMENT_REFUSALS,
    REFERENCE_EXHAUSTED,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/bookings", tags=["Bookings"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post(
    "",
    status_code=201,
    response_model=BookingOut,
    responses=problems(
        NOT_FOUND, FORBIDDEN, *HOLD_REFUSALS, *PAYMENT_REFUSALS, *IDEMPOTENCY_REFUSALS, REFERENCE_EXHAUSTED, BAD_GATEWAY
    ),
)
async def create_booking(
    body: BookingCreate,
    traveler: Traveler,
    upstreams: CallerUpstreams,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def answer() -> dict[str, Any]:
        booking = await service.create_booking(
            session,
            traveler=traveler,
            origin=Origin.of(request),
            request=body,
            upstreams=upstreams,
            deposit_terms=settings.deposit_terms(),
            clock=request.app.state.clock,
        )
        return service.booking_out(booking, viewer=traveler).model_dump(mode="json")

    return await answer_once(
        request,
        user_id=traveler.user_id,
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=201,
        answer=answer,
    )


@router.get("")
async def list_bookings(
    viewer: CurrentIdentity,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> BookingPage:
    bookings, next_cursor = await service.list_bookings(session, viewer=viewer, limit=limit, cursor=cursor)
    return BookingPage(
        items=[service.booking_out(booking, viewer=viewer) for booking in bookings], next_cursor=next_cursor
    )


@router.get("/reference/{reference}")
async def read_booking_by_reference(reference: str, viewer: CurrentIdentity, session: SessionDep) -> BookingOut:
    booking = await service.get_booking_by_reference(session, reference=reference, viewer=viewer)
    return service.booking_out(booking, viewer=viewer)


@router.get("/{booking_id}")
async def read_booking(booking_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> BookingOut:
    return service.booking_out(await service.get_booking(session, booking_id=booking_id, viewer=viewer), viewer=viewer)


@router.post("/{booking_id}/no-show", responses=problems(FORBIDDEN, BOOKING_NOT_STARTED, INVALID_TRANSITION))
async def mark_no_show(booking_id: UUID, actor: CurrentIdentity, session: SessionDep, request: Request) -> BookingOut:
    booking = await service.mark_no_show(
        session, booking_id=booking_id, actor=actor, origin=Origin.of(request), clock=request.app.state.clock
    )
    return service.booking_out(booking, viewer=actor)
