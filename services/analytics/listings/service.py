"""The listings the reports name: kept from booking.confirmed (its listing, provider, title and
category), the latest confirmation's word winning whatever order they arrive in."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.listings.models import ListingDimension
from shared.contracts.booking import BookingConfirmed
from shared.errors import NotFound
from shared.identity import Identity


async def remember_listing(session: AsyncSession, booking: BookingConfirmed) -> None:
    statement = insert(ListingDimension).values(
        listing_id=booking.listing_id,
        provider_id=booking.provider_id,
        title=booking.listing_title[:500],
        category=booking.category,
        as_of=booking.confirmed_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["listing_id"],
            set_={
                "title": statement.excluded.title,
                "category": statement.excluded.category,
                "as_of": statement.excluded.as_of,
            },
            where=statement.excluded.as_of > ListingDimension.as_of,
        )
    )


async def check_listing_visible(session: AsyncSession, *, viewer: Identity, listing_id: UUID) -> None:
    """An admin sees any listing; a provider only one of theirs (404 otherwise, as for one that
    does not exist: a listing is known here once one of its bookings is confirmed)."""
    if viewer.is_admin:
        return
    owner = await session.scalar(select(ListingDimension.provider_id).where(ListingDimension.listing_id == listing_id))
    if owner != viewer.user_id:
        raise NotFound("No such listing of yours.", details={"listing_id": str(listing_id)})
