from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.inventory.calendar import service
from services.inventory.calendar.schemas import MonthCalendar
from services.inventory.deps import ClockDep, SeatsDep
from shared.deps import SessionDep

router = APIRouter(prefix="/listings/{listing_id}", tags=["Availability"])


@router.get("/calendar")
async def read_calendar(
    listing_id: UUID,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    month: Annotated[int, Query(ge=1, le=12)],
) -> MonthCalendar:
    return await service.month_calendar(
        session, seats=seats, listing_id=listing_id, year=year, month=month, clock=clock
    )
