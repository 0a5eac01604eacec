"""Sharing a trip read-only: a link whose token only the owner is ever shown; the trip keeps
its SHA-256, so a new share or a revoke makes the old link lead nowhere."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.trips import service as trips
from services.booking.trips.models import Trip, TripItem
from services.booking.trips.sharing.schemas import SharedDay, SharedItem, SharedPrice, SharedTripOut, ShareOut
from shared.clock import Clock
from shared.errors import NotFound
from shared.identity import Identity
from shared.money import money

# 32 random bytes: a link nobody guesses.
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_url(public_api_url: str, token: str) -> str:
    return f"{public_api_url.rstrip('/')}/shared/trips/{token}"


async def share_trip(
    session: AsyncSession, *, trip_id: UUID, owner: Identity, show_prices: bool, public_api_url: str, clock: Clock
) -> ShareOut:
    trip = await trips.owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    trip.share_token_hash = token_hash(token)
    trip.share_shows_prices = show_prices
    trip.shared_at = clock.now()
    await session.commit()
    return ShareOut(
        trip_id=trip.id,
        token=token,
        url=share_url(public_api_url, token),
        show_prices=show_prices,
        shared_at=trip.shared_at,
    )


async def revoke_share(session: AsyncSession, *, trip_id: UUID, owner: Identity) -> None:
    trip = await trips.owned_trip(session, trip_id=trip_id, owner=owner, lock=True)
    trip.share_token_hash = None
    trip.shared_at = None
    await session.commit()


async def shared_trip(session: AsyncSession, *, token: str, clock: Clock) -> SharedTripOut:
    """The trip a share link leads to, as planned (an expert's proposals wait for the owner's
    approval); an unknown or revoked token, or a deleted trip, is not found."""
    trip = await session.scalar(
        select(Trip).where(Trip.share_token_hash == token_hash(token), Trip.deleted_at.is_(None))
    )
    if trip is None:
        raise NotFound("No trip is shared at this link.")
    items = await trips.items_of(session, trip.id)
    status = await trips.status_now(session, trip, items, now=clock.now())
    return shared_view(trip, [item for item in items if trips.in_plan(item)], status=status)


def shared_view(trip: Trip, items: Sequence[TripItem], *, status: str) -> SharedTripOut:
    trip_days = (trip.end_date - trip.start_date).days + 1
    by_day: dict[int, list[SharedItem]] = {day: [] for day in range(1, trip_days + 1)}
    for item in items:
        by_day.setdefault(item.day, []).append(_shared_item(item, show_price=trip.share_shows_prices))
    return SharedTripOut(
        title=trip.title,
        destinations=list(trip.destinations),
        start_date=trip.start_date,
        end_date=trip.end_date,
        timezone=trip.timezone,
        status=status,
        prices_shown=trip.share_shows_prices,
        days=[
            SharedDay(day=day, date=trip.start_date + timedelta(days=day - 1), items=day_items)
            for day, day_items in sorted(by_day.items())
        ],
    )


def _shared_item(item: TripItem, *, show_price: bool) -> SharedItem:
    price = None
    if show_price and item.price is not None and item.currency is not None:
        price = SharedPrice(
            amount=money(item.price, item.currency), currency=item.currency, is_estimate=item.price_is_estimate
        )
    return SharedItem(
        type=item.type,
        title=item.title,
        start_time=item.start_time,
        duration_minutes=item.duration_minutes,
        location=item.location,
        booking_status=item.booking_status,
        price=price,
    )
