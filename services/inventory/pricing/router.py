from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.inventory.holds.schemas import MAX_PARTY
from services.inventory.pricing import service
from services.inventory.pricing.domain import Party
from services.inventory.pricing.schemas import SlotQuote
from shared.deps import SessionDep
from shared.error_codes import QUOTE_ONLY
from shared.errors import InvalidInput
from shared.openapi import problems

router = APIRouter(prefix="/listings", tags=["Listings"])

People = Annotated[int, Query(ge=0, le=MAX_PARTY)]


@router.get("/{listing_id}/quote", responses=problems(QUOTE_ONLY))
async def quote_slot(
    listing_id: UUID, slot_id: UUID, session: SessionDep, adults: People = 1, children: People = 0, infants: People = 0
) -> SlotQuote:
    """What a party would pay on a slot, line by line; an estimated range if quote-only."""
    if adults + children + infants == 0:
        raise InvalidInput("A quote needs at least one person.", details={"adults": adults})
    party = Party(adults=adults, children=children, infants=infants)
    return await service.quote_slot(session, listing_id=listing_id, slot_id=slot_id, party=party)
