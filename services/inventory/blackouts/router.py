from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.inventory.blackouts import service
from services.inventory.blackouts.schemas import BlackoutCreate, BlackoutOut
from services.inventory.deps import ClockDep, Provider
from shared.auth import Identity, require_role
from shared.deps import RedisDep, SessionDep

router = APIRouter(tags=["blackouts"])

Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.post("/listings/{listing_id}/blackouts", status_code=status.HTTP_201_CREATED)
async def black_out_listing(
    listing_id: UUID, fields: BlackoutCreate, owner: Provider, session: SessionDep, redis: RedisDep, clock: ClockDep
) -> BlackoutOut:
    return await service.create_blackout(
        session, redis=redis, listing_id=listing_id, author=owner, fields=fields, clock=clock
    )


@router.post("/admin/blackouts", status_code=status.HTTP_201_CREATED)
async def black_out_everything(
    fields: BlackoutCreate, admin: Admin, session: SessionDep, redis: RedisDep, clock: ClockDep
) -> BlackoutOut:
    return await service.create_blackout(
        session, redis=redis, listing_id=None, author=admin, fields=fields, clock=clock
    )
