"""Finding a listing for a caller; used by every domain of the catalog."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.listings.models import Listing
from shared.errors import NotFound
from shared.identity import Identity


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
