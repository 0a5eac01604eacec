"""Providers' listings: create, read, change and archive them; search them."""

import base64
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.listings.models import Listing
from services.inventory.listings.schemas import ListingCreate, ListingUpdate
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


async def search_listings(
    session: AsyncSession,
    *,
    city: str | None,
    category: str | None,
    provider_id: UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Listing], str | None]:
    query = select(Listing).where(Listing.archived_at.is_(None))
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
