"""Providers' listings: create, read, change and archive them; search them."""

import base64
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.listings.models import Listing
from services.inventory.listings.schemas import ListingCreate, ListingUpdate
from services.inventory.schedules.models import Slot
from shared.auth import Identity
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound


async def create_listing(session: AsyncSession, *, owner: Identity, fields: ListingCreate) -> Listing:
    listing = Listing(provider_id=owner.user_id, **fields.model_dump(mode="json", exclude={"base_price"}))
    listing.base_price = fields.base_price
    session.add(listing)
    await session.commit()
    return listing


async def get_listing(session: AsyncSession, *, listing_id: UUID) -> Listing:
    listing = await session.get(Listing, listing_id)
    if listing is None or listing.archived_at is not None:
        raise NotFound("No such listing.")
    return listing


async def get_owned_listing(session: AsyncSession, *, listing_id: UUID, owner: Identity) -> Listing:
    """The listing if the caller owns it (or is an admin); 404 otherwise, so others learn nothing."""
    listing = await get_listing(session, listing_id=listing_id)
    if listing.provider_id != owner.user_id and not owner.is_admin:
        raise NotFound("No such listing.")
    return listing


async def update_listing(
    session: AsyncSession, *, listing_id: UUID, owner: Identity, changes: ListingUpdate
) -> Listing:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    for name, value in changes.model_dump(exclude_unset=True, mode="python").items():
        setattr(listing, name, value.model_dump(mode="json") if name == "pricing" else value)
    await session.commit()
    await session.refresh(listing)
    return listing


async def archive_listing(session: AsyncSession, *, listing_id: UUID, owner: Identity, clock: Clock) -> None:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    listing.archived_at = clock.now()
    await session.commit()


def _encode_cursor(listing: Listing) -> str:
    return base64.urlsafe_b64encode(f"{listing.created_at.isoformat()}|{listing.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, listing_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created_at), UUID(listing_id)
    except ValueError:
        raise InvalidInput("The cursor is not valid.", details={"cursor": cursor}) from None


@dataclass(frozen=True)
class ListingSearch:
    city: str | None = None
    category: str | None = None
    provider_id: UUID | None = None
    text: str | None = None
    on_date: date | None = None
    party_size: int = 1
    min_price: Decimal | None = None
    max_price: Decimal | None = None


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_listings(
    session: AsyncSession, *, search: ListingSearch, limit: int, cursor: str | None
) -> tuple[list[Listing], str | None]:
    """Listings matching every given filter. With a date, only those with an open slot that
    day with room for the party (confirmed seats counted; a hold's are counted at hold time)."""
    city, category, provider_id = search.city, search.category, search.provider_id
    query = select(Listing).where(Listing.archived_at.is_(None))
    if search.text:
        pattern = _contains(search.text)
        query = query.where(or_(Listing.title.ilike(pattern), Listing.description.ilike(pattern)))
    if search.min_price is not None:
        query = query.where(Listing.base_price >= search.min_price)
    if search.max_price is not None:
        query = query.where(Listing.base_price <= search.max_price)
    if search.on_date is not None:
        query = query.where(
            exists().where(
                Slot.listing_id == Listing.id,
                Slot.local_date == search.on_date,
                Slot.closed_at.is_(None),
                Slot.capacity - Slot.confirmed_seats >= search.party_size,
            )
        )
    if city:
        query = query.where(func.lower(Listing.city) == city.lower())
    if category:
        query = query.where(Listing.category == category)
    if provider_id:
        query = query.where(Listing.provider_id == provider_id)
    if cursor:
        query = query.where(tuple_(Listing.created_at, Listing.id) > _decode_cursor(cursor))
    rows = list((await session.scalars(query.order_by(Listing.created_at, Listing.id).limit(limit + 1))).all())
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
