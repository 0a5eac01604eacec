from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.analytics.popular import service
from services.analytics.popular.schemas import PopularListings
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import FORBIDDEN
from shared.errors import InvalidInput
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/analytics", tags=["Analytics"])

Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.get("/popular", responses=problems(FORBIDDEN))
async def read_popular_listings(
    viewer: Admin,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    by: service.RankBy = "bookings",
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    provider_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PopularListings:
    """Listings ranked by bookings confirmed in the UTC days [from, to], or by revenue (GMV) in
    one `currency` (needed then: currencies do not add up), each with its money per currency;
    of one provider's listings with `provider_id`."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    return await service.popular_listings(
        session,
        viewer=viewer,
        start=start,
        end=end,
        by=by,
        currency=currency,
        provider_id=provider_id,
        limit=limit,
    )
