from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.analytics.forecasts import service
from services.analytics.forecasts.schemas import ListingForecast
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import NOT_FOUND
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/analytics", tags=["Analytics"])

AdminOrProvider = Annotated[Identity, Depends(require_role("provider"))]


@router.get("/forecast/{listing_id}", responses=problems(NOT_FOUND))
async def forecast_listing_demand(
    listing_id: UUID,
    viewer: AdminOrProvider,
    session: SessionDep,
    request: Request,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> ListingForecast:
    now = request.app.state.clock.now()
    return await service.listing_forecast(session, viewer=viewer, listing_id=listing_id, days=days, now=now)
