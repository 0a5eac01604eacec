from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.booking.balances import service
from services.booking.balances.schemas import BalancePaymentOut
from shared.auth import INTERNAL_IDENTITY_HEADER, Identity, require_role
from shared.deps import SessionDep

router = APIRouter(prefix="/bookings", tags=["balances"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("/{booking_id}/pay-balance")
async def pay_balance(booking_id: UUID, traveler: Traveler, session: SessionDep, request: Request) -> BalancePaymentOut:
    return await service.pay_balance(
        session,
        booking_id=booking_id,
        traveler=traveler,
        identity_header={INTERNAL_IDENTITY_HEADER: request.headers[INTERNAL_IDENTITY_HEADER]},
        payment=request.app.state.payment,
    )
