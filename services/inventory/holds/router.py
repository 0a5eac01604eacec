from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from services.inventory.deps import ClockDep, SeatsDep, Traveler
from services.inventory.holds import service
from services.inventory.holds.schemas import HoldCreate, HoldOut, InternalHoldCreate
from shared.auth import CurrentIdentity
from shared.contracts.inventory_api import HoldDetails
from shared.deps import SessionDep
from shared.error_codes import (
    HOLD_CONFIRMED,
    HOLD_EXISTS,
    HOLD_EXPIRED,
    HOLD_EXTENSION_LIMIT,
    HOLD_ID_TAKEN,
    HOLD_IN_PROGRESS,
    HOLD_REFUSALS,
    NOT_FOUND,
    NOT_INSTANT_BOOKABLE,
    NOT_ON_SALE,
    PARTY_TOO_LARGE,
    QUOTE_ONLY,
    SLOT_CLOSED,
    SOLD_OUT,
)
from shared.openapi import problems

router = APIRouter(prefix="/holds", tags=["Holds"])
# Called by booking while a provider or traveler waits; the gateway routes nothing under /internal.
internal_router = APIRouter(prefix="/internal/holds", tags=["Internal"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problems(
        NOT_FOUND,
        SOLD_OUT,
        SLOT_CLOSED,
        NOT_ON_SALE,
        NOT_INSTANT_BOOKABLE,
        QUOTE_ONLY,
        HOLD_EXISTS,
        HOLD_IN_PROGRESS,
        PARTY_TOO_LARGE,
    ),
)
async def place_hold(
    request: HoldCreate, holder: Traveler, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> HoldOut:
    hold = await service.place_hold(session, seats=seats, holder=holder, request=request, clock=clock)
    return await service.hold_out(session, hold)


@router.get("/{hold_id}")
async def read_hold(hold_id: UUID, holder: Traveler, session: SessionDep) -> HoldDetails:
    return await service.get_hold_details(session, hold_id=hold_id, holder=holder)


@router.post("/{hold_id}/extend", responses=problems(HOLD_EXPIRED, HOLD_EXTENSION_LIMIT))
async def extend_hold(
    hold_id: UUID, holder: Traveler, session: SessionDep, seats: SeatsDep, clock: ClockDep, request: Request
) -> HoldOut:
    hold = await service.extend_hold(
        session,
        seats=seats,
        hold_id=hold_id,
        holder=holder,
        clock=clock,
        max_hold_seconds=request.app.state.resources.settings.max_hold_seconds,
    )
    return await service.hold_out(session, hold)


@router.delete("/{hold_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(HOLD_CONFIRMED))
async def release_hold(
    hold_id: UUID, holder: Traveler, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> Response:
    await service.release_hold(session, seats=seats, hold_id=hold_id, holder=holder, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@internal_router.post(
    "", status_code=status.HTTP_201_CREATED, responses=problems(NOT_FOUND, HOLD_ID_TAKEN, *HOLD_REFUSALS)
)
async def place_hold_for(
    request: InternalHoldCreate, _: CurrentIdentity, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> HoldDetails:
    return await service.place_hold_for(session, seats=seats, request=request, clock=clock)
