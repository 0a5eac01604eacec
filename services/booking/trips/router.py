from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.booking.carts.schemas import CheckoutRequest
from services.booking.deps import CallerUpstreams, SettingsDep
from services.booking.history.service import Origin
from services.booking.idempotency.router import IdempotencyKey, answer_once
from services.booking.trips import service
from services.booking.trips.schemas import (
    TripCheckoutOut,
    TripCreate,
    TripItemCreate,
    TripItemUpdate,
    TripOut,
    TripPage,
    TripUpdate,
)
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    CHECKOUT_IN_PROGRESS,
    CURRENCY_MISMATCH,
    HANDOFF_NOT_EDITABLE,
    HOLD_REFUSALS,
    IDEMPOTENCY_REFUSALS,
    ITEM_BOOKED,
    NOTHING_TO_BOOK,
    PARTY_TOO_LARGE,
    PAYMENT_REFUSALS,
    REFERENCE_EXHAUSTED,
    TRIP_CANCELLED,
    WRONG_ITEM_KIND,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/trips", tags=["Trips"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]
# The owner, or an expert working on the trip's handoff.
Planner = Annotated[Identity, Depends(require_role("traveler", "expert"))]


async def _trip_answer(request: Request, session: SessionDep, trip_id: UUID, viewer: Identity) -> TripOut:
    trip = await service.get_trip(session, trip_id=trip_id, viewer=viewer)
    [answer] = await service.trips_out(session, [trip], now=request.app.state.clock.now())
    return answer


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_trip(body: TripCreate, traveler: Traveler, session: SessionDep, request: Request) -> TripOut:
    trip = await service.create_trip(session, traveler=traveler, request=body, clock=request.app.state.clock)
    return await _trip_answer(request, session, trip.id, traveler)


@router.get("")
async def list_trips(
    traveler: Traveler,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> TripPage:
    trips, next_cursor = await service.list_trips(session, traveler=traveler, limit=limit, cursor=cursor)
    return TripPage(
        items=await service.trips_out(session, trips, now=request.app.state.clock.now()), next_cursor=next_cursor
    )


@router.get("/{trip_id}")
async def read_trip(trip_id: UUID, viewer: Planner, session: SessionDep, request: Request) -> TripOut:
    return await _trip_answer(request, session, trip_id, viewer)


@router.patch("/{trip_id}", responses=problems(TRIP_CANCELLED))
async def update_trip(
    trip_id: UUID, body: TripUpdate, traveler: Traveler, session: SessionDep, request: Request
) -> TripOut:
    await service.update_trip(session, trip_id=trip_id, owner=traveler, request=body, clock=request.app.state.clock)
    return await _trip_answer(request, session, trip_id, traveler)


@router.delete("/{trip_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trip(trip_id: UUID, traveler: Traveler, session: SessionDep, request: Request) -> Response:
    await service.delete_trip(session, trip_id=trip_id, owner=traveler, clock=request.app.state.clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{trip_id}/items",
    status_code=status.HTTP_201_CREATED,
    responses=problems(TRIP_CANCELLED, HANDOFF_NOT_EDITABLE, WRONG_ITEM_KIND, PARTY_TOO_LARGE, BAD_GATEWAY),
)
async def add_item(
    trip_id: UUID,
    body: TripItemCreate,
    actor: Planner,
    session: SessionDep,
    upstreams: CallerUpstreams,
    request: Request,
) -> TripOut:
    await service.add_item(
        session, trip_id=trip_id, actor=actor, request=body, upstreams=upstreams, clock=request.app.state.clock
    )
    return await _trip_answer(request, session, trip_id, actor)


@router.patch(
    "/{trip_id}/items/{item_id}",
    responses=problems(
        TRIP_CANCELLED, HANDOFF_NOT_EDITABLE, ITEM_BOOKED, WRONG_ITEM_KIND, PARTY_TOO_LARGE, BAD_GATEWAY
    ),
)
async def update_item(
    trip_id: UUID,
    item_id: UUID,
    body: TripItemUpdate,
    actor: Planner,
    session: SessionDep,
    upstreams: CallerUpstreams,
    request: Request,
) -> TripOut:
    await service.update_item(
        session,
        trip_id=trip_id,
        item_id=item_id,
        actor=actor,
        request=body,
        upstreams=upstreams,
        clock=request.app.state.clock,
    )
    return await _trip_answer(request, session, trip_id, actor)


@router.delete(
    "/{trip_id}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(TRIP_CANCELLED, HANDOFF_NOT_EDITABLE, ITEM_BOOKED),
)
async def delete_item(trip_id: UUID, item_id: UUID, actor: Planner, session: SessionDep, request: Request) -> Response:
    await service.delete_item(session, trip_id=trip_id, item_id=item_id, actor=actor, clock=request.app.state.clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{trip_id}/checkout",
    response_model=TripCheckoutOut,
    responses=problems(
        TRIP_CANCELLED,
        NOTHING_TO_BOOK,
        CURRENCY_MISMATCH,
        CHECKOUT_IN_PROGRESS,
        *IDEMPOTENCY_REFUSALS,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        REFERENCE_EXHAUSTED,
        BAD_GATEWAY,
    ),
)
async def check_out_trip(
    trip_id: UUID,
    body: CheckoutRequest,
    traveler: Traveler,
    session: SessionDep,
    upstreams: CallerUpstreams,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Each item is booked once: checking out again books only what was added since, and with
    nothing new answers the last checkout."""

    async def answer() -> dict[str, Any]:
        checked_out = await service.checkout(
            session,
            trip_id=trip_id,
            owner=traveler,
            origin=Origin.of(request),
            request=body,
            upstreams=upstreams,
            partner_ids=settings.affiliate_partner_ids,
            deadlines=settings.request_deadlines(),
            max_open_requests=settings.max_open_requests_per_traveler,
            clock=request.app.state.clock,
        )
        return checked_out.model_dump(mode="json")

    return await answer_once(
        request,
        user_id=traveler.user_id,
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=200,
        answer=answer,
    )
