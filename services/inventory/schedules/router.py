from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from services.inventory.deps import ClockDep, Provider, SeatsDep
from services.inventory.holds.schemas import PartyCounts
from services.inventory.pricing.domain import Party
from services.inventory.schedules import service
from services.inventory.schedules.schemas import (
    Availability,
    DayOut,
    DayUpdate,
    ScheduleChange,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    SlotOut,
    SlotUpdate,
)
from shared.auth import CurrentIdentity
from shared.contracts.inventory_api import OpenSlots, SlotForRequest
from shared.deps import RedisDep, SessionDep
from shared.error_codes import CAPACITY_BELOW_TAKEN, CAPACITY_PER_DAY, DAY_PASSED, QUOTE_ONLY, SLOT_CLOSED, SLOT_STARTED
from shared.openapi import problems

router = APIRouter(prefix="/listings/{listing_id}", tags=["Schedules"])
# Called by booking while a traveler waits; the gateway routes nothing under /internal.
internal_router = APIRouter(prefix="/internal/slots", tags=["Internal"])


@router.post("/schedules", status_code=status.HTTP_201_CREATED)
async def create_schedule(
    listing_id: UUID,
    fields: ScheduleCreate,
    owner: Provider,
    session: SessionDep,
    redis: RedisDep,
    clock: ClockDep,
    request: Request,
) -> ScheduleOut:
    return await service.create_schedule(
        session,
        redis=redis,
        listing_id=listing_id,
        owner=owner,
        fields=fields,
        clock=clock,
        horizon_days=request.app.state.resources.settings.slot_horizon_days,
    )


@router.get("/availability")
async def read_availability(
    listing_id: UUID,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    date: date,
    party_size: Annotated[int, Query(ge=1, le=50)] = 1,
) -> Availability:
    return await service.availability_on(
        session, seats=seats, listing_id=listing_id, day=date, party_size=party_size, clock=clock
    )


@router.get("/open-slots")
async def list_open_slots(
    listing_id: UUID,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    party_size: Annotated[int, Query(ge=1, le=50)] = 1,
) -> OpenSlots:
    return await service.open_slots(
        session, seats=seats, listing_id=listing_id, first=first, last=last, party_size=party_size, clock=clock
    )


@router.get("/schedules")
async def list_schedules(listing_id: UUID, owner: Provider, session: SessionDep) -> list[ScheduleOut]:
    return await service.list_schedules(session, listing_id=listing_id, owner=owner)


@router.patch("/schedules/{schedule_id}", responses=problems(CAPACITY_BELOW_TAKEN))
async def update_schedule(
    listing_id: UUID,
    schedule_id: UUID,
    changes: ScheduleUpdate,
    owner: Provider,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    request: Request,
) -> ScheduleChange:
    return await service.update_schedule(
        session,
        seats=seats,
        listing_id=listing_id,
        schedule_id=schedule_id,
        owner=owner,
        changes=changes,
        clock=clock,
        horizon_days=request.app.state.resources.settings.slot_horizon_days,
    )


@router.get("/slots/{slot_id}")
async def read_slot(
    listing_id: UUID, slot_id: UUID, owner: Provider, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> SlotOut:
    return await service.get_slot(
        session, seats=seats, listing_id=listing_id, slot_id=slot_id, owner=owner, clock=clock
    )


@router.patch("/slots/{slot_id}", responses=problems(CAPACITY_BELOW_TAKEN, CAPACITY_PER_DAY, SLOT_CLOSED, SLOT_STARTED))
async def change_slot(
    listing_id: UUID,
    slot_id: UUID,
    changes: SlotUpdate,
    owner: Provider,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
) -> SlotOut:
    return await service.change_slot(
        session, seats=seats, listing_id=listing_id, slot_id=slot_id, owner=owner, changes=changes, clock=clock
    )


@router.get("/days/{day}")
async def read_day(
    listing_id: UUID, day: date, owner: Provider, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> DayOut:
    return await service.get_day(session, seats=seats, listing_id=listing_id, day=day, owner=owner, clock=clock)


@router.patch("/days/{day}", responses=problems(CAPACITY_BELOW_TAKEN, DAY_PASSED))
async def change_day(
    listing_id: UUID,
    day: date,
    changes: DayUpdate,
    owner: Provider,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
) -> DayOut:
    return await service.change_day(
        session, seats=seats, listing_id=listing_id, day=day, owner=owner, changes=changes, clock=clock
    )


@internal_router.get("/{slot_id}", responses=problems(QUOTE_ONLY))
async def slot_for_request(
    slot_id: UUID,
    party: Annotated[PartyCounts, Query()],
    _: CurrentIdentity,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
) -> SlotForRequest:
    return await service.slot_for_request(
        session,
        seats=seats,
        slot_id=slot_id,
        party=Party(adults=party.adults, children=party.children, infants=party.infants),
        clock=clock,
    )
