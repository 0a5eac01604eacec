from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.analytics.revenue import service
from services.analytics.revenue.schemas import Revenue
from shared.auth import require_role
from shared.deps import SessionDep
from shared.errors import InvalidInput
from shared.identity import Identity

router = APIRouter(prefix="/analytics", tags=["Analytics"])

AdminOrProvider = Annotated[Identity, Depends(require_role("provider"))]


@router.get("/revenue")
async def read_revenue(
    viewer: AdminOrProvider,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    group_by: service.GroupBy = "day",
) -> Revenue:
    """GMV, platform fees, refunds, net, payouts and credits of the UTC days [from, to], money on
    the day it moved and bookings on the day they were confirmed; a provider sees their own."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    return await service.revenue(session, viewer=viewer, start=start, end=end, group_by=group_by)
