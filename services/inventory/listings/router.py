import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from services.inventory.deps import ClockDep, Provider, SeatsDep
from services.inventory.listings import service
from services.inventory.listings.lookup import get_listing
from services.inventory.listings.schemas import Category, ListingCreate, ListingOut, ListingPage, ListingUpdate
from services.inventory.views.service import count_view
from shared.deps import RedisDep, SessionDep
from shared.error_codes import CAPACITY_BELOW_TAKEN
from shared.money import MAX_AMOUNT
from shared.openapi import problems

router = APIRouter(prefix="/listings", tags=["Listings"])

# Set by the gateway on every call it forwards; absent from services' own calls to inventory.
FORWARDED_FOR = "x-forwarded-for"


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_listing(fields: ListingCreate, owner: Provider, session: SessionDep) -> ListingOut:
    return ListingOut.model_validate(await service.create_listing(session, owner=owner, fields=fields))


@router.get("")
async def search_listings(
    session: SessionDep,
    city: Annotated[str | None, Query(max_length=100)] = None,
    category: Category | None = None,
    provider_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    date: datetime.date | None = None,
    party_size: Annotated[int, Query(ge=1, le=50)] = 1,
    min_price: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
    max_price: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> ListingPage:
    search = service.ListingSearch(
        city=city,
        category=category,
        provider_id=provider_id,
        text=q,
        on_date=date,
        party_size=party_size,
        min_price=min_price,
        max_price=max_price,
    )
    listings, next_cursor = await service.search_listings(session, search=search, limit=limit, cursor=cursor)
    return ListingPage(items=[ListingOut.model_validate(listing) for listing in listings], next_cursor=next_cursor)


@router.get("/{listing_id}")
async def read_listing(
    listing_id: UUID,
    session: SessionDep,
    redis: RedisDep,
    clock: ClockDep,
    request: Request,
    background: BackgroundTasks,
) -> ListingOut:
    """The listing's page. A read that came through the gateway (a person's, not another
    service's) counts as a view, after the answer is sent (see views/service.py)."""
    listing = ListingOut.model_validate(await get_listing(session, listing_id=listing_id))
    if FORWARDED_FOR in request.headers:
        background.add_task(count_view, redis, listing_id=listing_id, at=clock.now())
    return listing


@router.patch("/{listing_id}", responses=problems(CAPACITY_BELOW_TAKEN))
async def update_listing(
    listing_id: UUID,
    changes: ListingUpdate,
    owner: Provider,
    session: SessionDep,
    seats: SeatsDep,
    clock: ClockDep,
    request: Request,
) -> ListingOut:
    listing = await service.update_listing(
        session,
        seats=seats,
        listing_id=listing_id,
        owner=owner,
        changes=changes,
        clock=clock,
        horizon_days=request.app.state.resources.settings.slot_horizon_days,
    )
    return ListingOut.model_validate(listing)


@router.delete("/{listing_id}", status_code=status.HTTP_204_NO_CONTENT)
async def archive_listing(
    listing_id: UUID, owner: Provider, session: SessionDep, redis: RedisDep, clock: ClockDep
) -> Response:
    await service.archive_listing(session, redis=redis, listing_id=listing_id, owner=owner, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
