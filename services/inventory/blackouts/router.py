from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from services.inventory.blackouts import service
from services.inventory.blackouts.schemas import BlackoutCreate, BlackoutOut, BlackoutPage
from services.inventory.deps import ClockDep, Provider, SeatsDep
from shared.auth import require_role
from shared.deps import SessionDep
from shared.identity import Identity

router = APIRouter(tags=["Blackouts"])

Admin = Annotated[Identity, Depends(require_role("admin"))]
Limit = Annotated[int, Query(ge=1, le=100)]


def _horizon_days(request: Request) -> int:
    days: int = request.app.state.resources.settings.slot_horizon_days
    return days


HorizonDays = Annotated[int, Depends(_horizon_days)]


@router.post("/listings/{listing_id}/blackouts", status_code=status.HTTP_201_CREATED)
async def black_out_listing(
    listing_id: UUID, fields: BlackoutCreate, owner: Provider, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> BlackoutOut:
    return await service.create_blackout(
        session, seats=seats, listing_id=listing_id, author=owner, fields=fields, clock=clock
    )


@router.get("/listings/{listing_id}/blackouts")
async def list_listing_blackouts(
    listing_id: UUID, owner: Provider, session: SessionDep, limit: Limit = 20, cursor: str | None = None
) -> BlackoutPage:
    return await service.list_blackouts(session, listing_id=listing_id, viewer=owner, limit=limit, cursor=cursor)


@router.delete("/listings/{listing_id}/blackouts/{blackout_id}")
async def lift_listing_blackout(
    listing_id: UUID,
    blackout_id: UUID,
    owner: Provider,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    horizon_days: HorizonDays,
) -> BlackoutOut:
    return await service.lift_blackout(
        session,
        seats=seats,
        listing_id=listing_id,
        blackout_id=blackout_id,
        lifter=owner,
        clock=clock,
        horizon_days=horizon_days,
    )


@router.post("/admin/blackouts", status_code=status.HTTP_201_CREATED)
async def black_out_everything(
    fields: BlackoutCreate, admin: Admin, session: SessionDep, seats: SeatsDep, clock: ClockDep
) -> BlackoutOut:
    return await service.create_blackout(
        session, seats=seats, listing_id=None, author=admin, fields=fields, clock=clock
    )


@router.get("/admin/blackouts")
async def list_blackouts_of_everything(
    admin: Admin, session: SessionDep, limit: Limit = 20, cursor: str | None = None
) -> BlackoutPage:
    return await service.list_blackouts(session, listing_id=None, viewer=admin, limit=limit, cursor=cursor)


@router.delete("/admin/blackouts/{blackout_id}")
async def lift_blackout_of_everything(
    blackout_id: UUID, admin: Admin, session: SessionDep, seats: SeatsDep, clock: ClockDep, horizon_days: HorizonDays
) -> BlackoutOut:
    return await service.lift_blackout(
        session,
        seats=seats,
        listing_id=None,
        blackout_id=blackout_id,
        lifter=admin,
        clock=clock,
        horizon_days=horizon_days,
    )
