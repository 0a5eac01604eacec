from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Request, Response, status

from services.booking.deps import ClockDep, SettingsDep
from services.booking.trips.sharing import service
from services.booking.trips.sharing.schemas import ShareCreate, SharedTripOut, ShareOut
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import NOT_FOUND
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(tags=["Trips"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("/trips/{trip_id}/share", status_code=status.HTTP_201_CREATED, responses=problems(NOT_FOUND))
async def share_trip(
    trip_id: UUID,
    owner: Traveler,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    body: Annotated[ShareCreate | None, Body()] = None,
) -> ShareOut:
    return await service.share_trip(
        session,
        trip_id=trip_id,
        owner=owner,
        show_prices=(body or ShareCreate()).show_prices,
        public_api_url=settings.public_api_url,
        clock=request.app.state.clock,
    )


@router.delete("/trips/{trip_id}/share", status_code=status.HTTP_204_NO_CONTENT, responses=problems(NOT_FOUND))
async def revoke_share(trip_id: UUID, owner: Traveler, session: SessionDep) -> Response:
    await service.revoke_share(session, trip_id=trip_id, owner=owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/shared/trips/{token}", responses=problems(NOT_FOUND))
async def read_shared_trip(
    token: Annotated[str, Path(max_length=100)], session: SessionDep, clock: ClockDep
) -> SharedTripOut:
    return await service.shared_trip(session, token=token, clock=clock)
