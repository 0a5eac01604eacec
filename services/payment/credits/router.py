from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payment.credits import service
from services.payment.credits.schemas import CreditsOut
from shared.auth import require_role
from shared.deps import SessionDep
from shared.identity import Identity

router = APIRouter(prefix="/credits", tags=["Credits"])


@router.get("")
async def list_my_credits(
    traveler: Annotated[Identity, Depends(require_role("traveler"))],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    # The number of the last line of the page before (`next_cursor`).
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> CreditsOut:
    return await service.credits_of(session, traveler_id=traveler.user_id, limit=limit, cursor=cursor)
