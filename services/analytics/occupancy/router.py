from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.analytics.occupancy import service
from services.analytics.occupancy.schemas import Occupancy
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import FORBIDDEN, NOT_FOUND
from shared.errors import InvalidInput
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/analytics", tags=["Analytics"])

AdminOrProvider = Annotated[Identity, Depends(require_role("provider"))]


@router.get("/occupancy", responses=problems(FORBIDDEN, NOT_FOUND))
async def read_occupancy(
    viewer: AdminOrProvider,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    listing_id: UUID | None = None,
    group_by: service.GroupBy = "day",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Occupancy:
    """Seats sold out of seats offered on the listings' local dates [from, to], per slot or per
    listing and day, for the slots that sold a seat; a provider sees their own listings (another's
    is 404)."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    return await service.occupancy_report(
        session,
        viewer=viewer,
        start=start,
        end=end,
        group_by=group_by,
        listing_id=listing_id,
        limit=limit,
        cursor=cursor,
    )
