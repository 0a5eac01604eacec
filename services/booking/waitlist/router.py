import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.booking.deps import PublicInventory
from services.booking.waitlist import service
from services.booking.waitlist.schemas import PriorityChange, WaitlistEntryOut, WaitlistJoin, WaitlistPage
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    DAY_PASSED,
    NOT_FOUND,
    NOT_INSTANT_BOOKABLE,
    NOT_WAITING,
    PARTY_TOO_LARGE,
    WAITLIST_ENTRY_EXISTS,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/waitlist", tags=["Waitlist"])
admin_router = APIRouter(prefix="/admin/waitlist", tags=["Waitlist"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]
Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.post(
    "",
    status_code=201,
    responses=problems(
        NOT_FOUND, DAY_PASSED, NOT_INSTANT_BOOKABLE, WAITLIST_ENTRY_EXISTS, PARTY_TOO_LARGE, BAD_GATEWAY
    ),
)
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
async def list_waitlist_of_day(listing_id: UUID, date: datetime.date, session: SessionDep) -> WaitlistPage:
    entries = await service.waiting_on(session, listing_id=listing_id, local_date=date)
    return WaitlistPage(items=[WaitlistEntryOut.model_validate(entry) for entry in entries])


@admin_router.patch("/{entry_id}", responses=problems(NOT_WAITING))
async def change_waitlist_priority(
    entry_id: UUID, body: PriorityChange, admin: Admin, session: SessionDep
) -> WaitlistEntryOut:
    entry = await service.set_priority(session, entry_id=entry_id, change=body, admin=admin)
    return WaitlistEntryOut.model_validate(entry)
