from uuid import UUID

from fastapi import APIRouter, Request

from services.booking.history.service import Origin
from services.booking.modifications import service
from services.booking.modifications.schemas import ModificationOut, ModificationPage, ModificationRequest
from shared.auth import ActingForCaller, CurrentIdentity
from shared.deps import SessionDep

router = APIRouter(prefix="/bookings", tags=["bookings"])


@router.patch("/{booking_id}")
async def modify_booking(
    booking_id: UUID,
    body: ModificationRequest,
    traveler: CurrentIdentity,
    acting: ActingForCaller,
    session: SessionDep,
    request: Request,
) -> ModificationOut:
    """Another slot and/or party. The answer is the modification: applied once the new seats
    are sold (after the difference is paid, when there is one to pay)."""
    modification = await service.request_modification(
        session,
        booking_id=booking_id,
        traveler=traveler,
        origin=Origin.of(request),
        acting=acting,
        request=body,
        inventory=request.app.state.inventory,
        payment=request.app.state.payment,
        clock=request.app.state.clock,
    )
    return service.modification_out(modification)


@router.get("/{booking_id}/modifications")
async def list_modifications(booking_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> ModificationPage:
    modifications = await service.list_modifications(session, booking_id=booking_id, viewer=viewer)
    return ModificationPage(items=[service.modification_out(modification) for modification in modifications])
