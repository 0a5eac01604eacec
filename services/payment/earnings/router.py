from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payment.earnings import service
from services.payment.earnings.schemas import EarningsOut
from shared.auth import require_role
from shared.deps import SessionDep
from shared.identity import Identity

router = APIRouter(prefix="/providers/me/earnings", tags=["Earnings"])


@router.get("")
async def read_my_earnings(
    provider: Annotated[Identity, Depends(require_role("provider"))],
    session: SessionDep,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
) -> EarningsOut:
    return await service.earnings_of(session, provider_id=provider.user_id, from_date=from_date, to_date=to_date)
