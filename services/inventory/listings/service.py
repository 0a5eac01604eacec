"""Providers' listings: create, read, change and archive them; search them."""

import base64
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy import exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.calendar.cache import calendar_changed
from services.inventory.holds.seats import RedisSeats
from services.inventory.listings.lookup import get_owned_listing
from services.inventory.listings.models import Listing
from services.inventory.listings.schemas import ListingCreate, ListingUpdate, check_modes
from services.inventory.pricing.domain import PricingRules, check_prices
from services.inventory.schedules.models import DayPool, Slot
from services.inventory.schedules.service import announce_slots, apply_day_capacity, apply_open_days
from shared.clock import Clock
from shared.errors import InvalidInput
from shared.identity import Identity


async def create_listing(session: AsyncSession, *, owner: Identity, fields: ListingCreate) -> Listing:
    listing = Listing(
        provider_id=owner.user_id,
        provider_email=owner.email,
        **fields.model_dump(mode="json", exclude={"base_price"}),
    )
    listing.base_price = fields.base_price
    session.add(listing)
    await session.commit()
    return listing


async def update_listing(
    session: AsyncSession,
    *,
    seats: RedisSeats,
    listing_id: UUID,
    owner: Identity,
    changes: ListingUpdate,
    clock: Clock,
    horizon_days: int,
) -> Listing:
    """Change a listing; a change of its open days or mode re-opens and closes its future
    slots to match, and switching it on or off is announced on every future slot."""
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    was = (listing.availability_mode, listing.open_days, listing.on_sale, listing.day_capacity)
    for name, value in changes.model_dump(exclude_unset=True, mode="json").items():
        setattr(listing, name, value)
    if changes.base_price is not None:
        listing.base_price = changes.base_price
    try:
        rules = PricingRules.model_validate(listing.pricing)
        check_modes(
            rules,
            listing.booking_mode,
            listing.availability_mode,
            listing.open_days,
            listing.capacity_per,
            listing.day_capacity,
        )
        check_prices(currency=listing.currency, base_price=listing.base_price, rules=rules)
    except ValueError as error:
        raise InvalidInput(str(error), details={"fields": sorted(changes.model_fields_set)}) from None
    changed_slots: dict[UUID, Slot] = {}
    if (listing.availability_mode, listing.open_days) != was[:2]:
        for slot in await apply_open_days(session, listing=listing, clock=clock, horizon_days=horizon_days):
            changed_slots[slot.id] = slot
    if listing.on_sale != was[2]:
        for slot in await session.scalars(
            select(Slot).where(Slot.listing_id == listing.id, Slot.starts_at > clock.now(), Slot.closed_at.is_(None))
        ):
            changed_slots[slot.id] = slot
    if listing.day_capacity != was[3]:
        for slot in await apply_day_capacity(session, seats=seats, listing=listing, clock=clock):
            changed_slots[slot.id] = slot
    await session.commit()
    await session.refresh(listing)
    await announce_slots(
        session, seats=seats, listing=listing, slots=changed_slots.values(), change="listing_changed", clock=clock
    )
    return listing


async def archive_listing(
    session: AsyncSession, *, redis: Redis, listing_id: UUID, owner: Identity, clock: Clock
) -> None:
    listing = await get_owned_listing(session, listing_id=listing_id, owner=owner)
    listing.archived_at = clock.now()
    await session.commit()
    await calendar_changed(redis, listing.id)


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
            Listing.on_sale.is_(True),
            exists(
                select(Slot.id)
                .outerjoin(DayPool, DayPool.id == Slot.pool_id)
                .where(
                    Slot.listing_id == Listing.id,
                    Slot.local_date == search.on_date,
                    Slot.closed_at.is_(None),
                    # A slot of a day pool has what its pool has left.
                    func.coalesce(DayPool.capacity - DayPool.confirmed_seats, Slot.capacity - Slot.confirmed_seats)
                    >= search.party_size,
                )
            ),
        )
    if search.party_size > 1:
        query = query.where(Listing.max_party_size >= search.party_size)
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
