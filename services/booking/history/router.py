from uuid import UUID

from fastapi import APIRouter

from services.booking.history import service
from services.booking.history.schemas import BookingHistory
from shared.auth import CurrentIdentity
from shared.deps import SessionDep

router = APIRouter(prefix="/bookings", tags=["Bookings"])


@router.get("/{booking_id}/history")
async def read_booking_history(booking_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> BookingHistory:
    return await service.history_of(session, booking_id=booking_id, viewer=viewer)
