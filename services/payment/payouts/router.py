from typing import Annotated

from fastapi import APIRouter, Depends

from services.payment.payouts import service
from services.payment.payouts.schemas import PayoutsOut
from shared.auth import require_role
from shared.deps import SessionDep
from shared.identity import Identity

router = APIRouter(prefix="/providers/me/payouts", tags=["Payouts"])


@router.get("")
async def list_my_payouts(
    payee: Annotated[Identity, Depends(require_role("provider", "expert"))], session: SessionDep
) -> PayoutsOut:
    """The caller's connected account status and their payouts."""
    role = "provider" if payee.has_role("provider") else "expert"
    return await service.payouts_of(session, recipient_id=payee.user_id, role=role)
