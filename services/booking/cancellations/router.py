from uuid import UUID

from fastapi import APIRouter, Request

from services.booking.bookings.schemas import BookingOut
from services.booking.bookings.service import booking_out
from services.booking.cancellations import service
from services.booking.cancellations.schemas import CancelRequest
from services.booking.deps import SettingsDep
from services.booking.history.service import Origin
from shared.auth import CurrentIdentity
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, BOOKING_STARTED, FORBIDDEN, INVALID_TRANSITION
from shared.openapi import problems

router = APIRouter(prefix="/bookings", tags=["Bookings"])


@router.post("/{booking_id}/cancel", responses=problems(FORBIDDEN, BOOKING_STARTED, INVALID_TRANSITION, BAD_GATEWAY))
async def cancel_booking(
    booking_id: UUID,
    body: CancelRequest,
    actor: CurrentIdentity,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
) -> BookingOut:
    booking = await service.cancel_booking(
        session,
        booking_id=booking_id,
        actor=actor,
        origin=Origin.of(request),
        request=body,
        settings=settings,
        clock=request.app.state.clock,
    )
    return booking_out(booking)
