from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.booking.balances import service
from services.booking.balances.schemas import BalancePaymentOut
from services.booking.deps import CallerUpstreams
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, FORBIDDEN, NOTHING_DUE, PAYMENT_REFUSALS
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/bookings", tags=["Bookings"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("/{booking_id}/pay-balance", responses=problems(FORBIDDEN, NOTHING_DUE, *PAYMENT_REFUSALS, BAD_GATEWAY))
async def pay_balance(
    booking_id: UUID, traveler: Traveler, upstreams: CallerUpstreams, session: SessionDep
) -> BalancePaymentOut:
    return await service.pay_balance(session, booking_id=booking_id, traveler=traveler, payment=upstreams.payment)
