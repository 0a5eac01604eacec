from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.payment.reconciliation import service
from services.payment.reconciliation.schemas import ReconciliationReport
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY
from shared.openapi import problems

router = APIRouter(prefix="/admin/reconciliation", tags=["Reconciliation"])


@router.get("", dependencies=[Depends(require_role("admin"))], responses=problems(BAD_GATEWAY))
async def reconcile_with_stripe(
    session: SessionDep,
    request: Request,
    from_date: Annotated[date, Query(alias="from")],
    to_date: Annotated[date, Query(alias="to")],
) -> ReconciliationReport:
    return await service.reconcile(
        session, stripe_client=request.app.state.stripe, from_date=from_date, to_date=to_date
    )
