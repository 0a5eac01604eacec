import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.booking.deps import PublicInventory
from services.booking.waitlist import service
from services.booking.waitlist.schemas import PriorityChange, WaitlistEntryOut, WaitlistJoin, WaitlistPage
from shared.auth import require_role
from shared.deps import SessionDep
from shared.identity import Identity

router = APIRouter(prefix="/waitlist", tags=["waitlist"])
admin_router = APIRouter(prefix="/admin/waitlist", tags=["waitlist"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]
Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.post("", status_code=201)
async def join_waitlist(
    body: WaitlistJoin, traveler: Traveler, session: SessionDep, inventory: PublicInventory, request: Request
) -> WaitlistEntryOut:
    entry = await service.join_waitlist(
        session, traveler=traveler, request=body, inventory=inventory, clock=request.app.state.clock
    )
    return WaitlistEntryOut.model_validate(entry)


@router.get("/me")
async def my_waitlist(traveler: Traveler, session: SessionDep) -> WaitlistPage:
    entries = await service.entries_of(session, traveler=traveler)
    return WaitlistPage(items=[WaitlistEntryOut.model_validate(entry) for entry in entries])


@admin_router.get("", dependencies=[Depends(require_role("admin"))])
async def waitlist_of_day(listing_id: UUID, date: datetime.date, session: SessionDep) -> WaitlistPage:
    entries = await service.waiting_on(session, listing_id=listing_id, local_date=date)
    return WaitlistPage(items=[WaitlistEntryOut.model_validate(entry) for entry in entries])


@admin_router.patch("/{entry_id}")
async def change_priority(entry_id: UUID, body: PriorityChange, admin: Admin, session: SessionDep) -> WaitlistEntryOut:
    entry = await service.set_priority(session, entry_id=entry_id, change=body, admin=admin)
    return WaitlistEntryOut.model_validate(entry)
