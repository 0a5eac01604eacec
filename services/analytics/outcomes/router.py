from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.analytics.outcomes import service
from services.analytics.outcomes.schemas import Cancellations
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import FORBIDDEN
from shared.errors import InvalidInput
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/analytics", tags=["Analytics"])

AdminOrProvider = Annotated[Identity, Depends(require_role("provider"))]


@router.get("/cancellations", responses=problems(FORBIDDEN))
async def read_cancellations(
    viewer: AdminOrProvider,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    group_by: service.GroupBy = "listing",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Cancellations:
    """Bookings confirmed for service dates (the slot's local date) in [from, to], per listing or
    provider: how many are open, completed, no-shows, cancelled by the traveler or the provider,
    and the rates; a provider sees their own."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    return await service.cancellations(
        session, viewer=viewer, start=start, end=end, group_by=group_by, limit=limit, cursor=cursor
    )
