from uuid import UUID

from fastapi import APIRouter, Request

from services.booking.deps import CallerUpstreams, SettingsDep
from services.booking.history.service import Origin
from services.booking.modifications import service
from services.booking.modifications.schemas import ModificationOut, ModificationPage, ModificationRequest
from shared.auth import CurrentIdentity
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    BOOKING_NOT_MODIFIABLE,
    BOOKING_STARTED,
    FORBIDDEN,
    HOLD_REFUSALS,
    MODIFICATION_IN_PROGRESS,
    PAYMENT_REFUSALS,
)
from shared.openapi import problems

router = APIRouter(prefix="/bookings", tags=["Bookings"])


@router.patch(
    "/{booking_id}",
    responses=problems(
        FORBIDDEN,
        BOOKING_NOT_MODIFIABLE,
        BOOKING_STARTED,
        MODIFICATION_IN_PROGRESS,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        BAD_GATEWAY,
    ),
)
async def modify_booking(
    booking_id: UUID,
    body: ModificationRequest,
    traveler: CurrentIdentity,
    upstreams: CallerUpstreams,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> ModificationOut:
    """Another slot and/or party. The answer is the modification with what it charges now,
    refunds and leaves as the balance: applied once the new seats are sold (after its charge
    is paid, when it has one)."""
    modification = await service.request_modification(
        session,
        booking_id=booking_id,
        traveler=traveler,
        origin=Origin.of(request),
        request=body,
        upstreams=upstreams,
        deposit_terms=settings.deposit_terms(),
        clock=request.app.state.clock,
    )
    return service.modification_out(modification, viewer=traveler)


@router.get("/{booking_id}/modifications")
async def list_modifications(booking_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> ModificationPage:
    modifications = await service.list_modifications(session, booking_id=booking_id, viewer=viewer)
    return ModificationPage(
        items=[service.modification_out(modification, viewer=viewer) for modification in modifications]
    )
