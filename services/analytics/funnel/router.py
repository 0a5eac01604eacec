from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.analytics.funnel import service
from services.analytics.funnel.schemas import Conversion
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import VALIDATION_ERROR
from shared.errors import InvalidInput
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/analytics", tags=["Analytics"])

Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.get("/conversion", responses=problems(VALIDATION_ERROR))
async def read_conversion(
    viewer: Admin,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    group_by: service.GroupBy | None = None,
    provider_id: UUID | None = None,
    listing_id: UUID | None = None,
) -> Conversion:
    """The conversion funnel of the UTC days [from, to]: listing views → holds → bookings →
    paid → confirmed, requests → accepted, and providers' response times to requests (median
    and 90th percentile, in seconds). Each step counts on the day it happened, a response time
    on the day of the answer. The whole period in `total`; by `group_by` in `groups`; for one
    provider or listing when named."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    return await service.conversion(
        session,
        viewer=viewer,
        start=start,
        end=end,
        group_by=group_by,
        provider_id=provider_id,
        listing_id=listing_id,
    )
