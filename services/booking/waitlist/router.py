from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.booking.waitlist import service
from services.booking.waitlist.schemas import WaitlistEntryOut, WaitlistJoin, WaitlistPage
from shared.auth import Identity, require_role
from shared.deps import SessionDep

router = APIRouter(prefix="/waitlist", tags=["waitlist"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("", status_code=201)
async def join_waitlist(
    body: WaitlistJoin, traveler: Traveler, session: SessionDep, request: Request
) -> WaitlistEntryOut:
    entry = await service.join_waitlist(
        session, traveler=traveler, request=body, inventory=request.app.state.inventory, clock=request.app.state.clock
    )
    return WaitlistEntryOut.model_validate(entry)


@router.get("/me")
async def my_waitlist(traveler: Traveler, session: SessionDep) -> WaitlistPage:
    entries = await service.entries_of(session, traveler=traveler)
    return WaitlistPage(items=[WaitlistEntryOut.model_validate(entry) for entry in entries])
