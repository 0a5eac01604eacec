"""Calendar feeds of a trip (for its owner's calendar app) and of a provider's bookings: their
URLs, their rotation, and the feeds themselves, for whoever holds a URL's token."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.models import Booking
from services.booking.calendars import domain
from services.booking.calendars.schemas import FeedOut
from services.booking.settings import BookingSettings
from services.booking.trips import service as trips
from services.booking.trips.models import ProviderCalendar, Trip
from shared.clock import Clock
from shared.errors import NotFound
from shared.identity import Identity

# A feed bigger than this is cut at its latest events: no calendar app wants more.
MAX_EVENTS = 2000


@dataclass(frozen=True)
class Feeds:
    """What feeds are made with, from the settings."""

    secret: bytes
    public_api_url: str
    refresh: timedelta
    provider_past: timedelta

    @classmethod
    def of(cls, settings: BookingSettings) -> "Feeds":
        return cls(
            secret=settings.calendar_feed_secret.get_secret_value().encode(),
            public_api_url=settings.public_api_url.rstrip("/"),
            refresh=timedelta(minutes=settings.calendar_refresh_minutes),
            provider_past=timedelta(days=settings.provider_calendar_past_days),
        )

    @property
    def host(self) -> str:
        """The domain of the events' UIDs."""
        return urlsplit(self.public_api_url).hostname or "travel.invalid"

    def trip_feed(self, trip_id: UUID, version: int) -> FeedOut:
        token = domain.trip_feed_token(self.secret, trip_id=trip_id, version=version)
        return FeedOut(url=f"{self.public_api_url}/trips/{trip_id}/calendar.ics?token={token}", token=token)

    def provider_feed(self, provider_id: UUID, version: int) -> FeedOut:
        token = domain.provider_feed_token(self.secret, provider_id=provider_id, version=version)
        return FeedOut(url=f"{self.public_api_url}/providers/me/calendar.ics?token={token}", token=token)


def _not_found() -> NotFound:
    return NotFound("No calendar feed at this address.")


async def trip_feed_address(session: AsyncSession, *, trip_id: UUID, owner: Identity, feeds: Feeds) -> FeedOut:
    version = await session.scalar(
        select(Trip.calendar_token_version).where(
            Trip.id == trip_id, Trip.traveler_id == owner.user_id, Trip.deleted_at.is_(None)
        )
    )
    if version is None:
        raise NotFound("No such trip.")
    return feeds.trip_feed(trip_id, version)


async def rotate_trip_feed(session: AsyncSession, *, trip_id: UUID, owner: Identity, feeds: Feeds) -> FeedOut:
    version = await session.scalar(
        update(Trip)
        .where(Trip.id == trip_id, Trip.traveler_id == owner.user_id, Trip.deleted_at.is_(None))
        .values(calendar_token_version=Trip.calendar_token_version + 1)
        .returning(Trip.calendar_token_version)
    )
    if version is None:
        raise NotFound("No such trip.")
    await session.commit()
    return feeds.trip_feed(trip_id, version)


async def trip_calendar(session: AsyncSession, *, trip_id: UUID, token: str, feeds: Feeds) -> bytes:
    trip = await session.scalar(select(Trip).where(Trip.id == trip_id, Trip.deleted_at.is_(None)))
    expected = domain.trip_feed_token(feeds.secret, trip_id=trip_id, version=trip.calendar_token_version if trip else 0)
    if trip is None or not domain.same_token(expected, token):
        raise _not_found()
    items = [item for item in await trips.items_of(session, trip.id) if trips.in_plan(item)][:MAX_EVENTS]
    events = domain.trip_events(trip, items, zone=ZoneInfo(trip.timezone), host=feeds.host)
    return domain.calendar_of(
        events, uid=f"trip-{trip.id}@{feeds.host}", name=trip.title, refresh=feeds.refresh, timezone=trip.timezone
    )


async def _provider_calendar(session: AsyncSession, *, provider_id: UUID, clock: Clock) -> ProviderCalendar:
    """The provider's feed, made on first use."""
    now = clock.now()
    await session.execute(
        insert(ProviderCalendar)
        .values(provider_id=provider_id, token_version=1, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[ProviderCalendar.provider_id])
    )
    calendar = await session.get_one(ProviderCalendar, provider_id)
    await session.commit()
    return calendar


async def provider_feed_address(session: AsyncSession, *, provider: Identity, feeds: Feeds, clock: Clock) -> FeedOut:
    calendar = await _provider_calendar(session, provider_id=provider.user_id, clock=clock)
    return feeds.provider_feed(provider.user_id, calendar.token_version)


async def rotate_provider_feed(session: AsyncSession, *, provider: Identity, feeds: Feeds, clock: Clock) -> FeedOut:
    now = clock.now()
    version = (
        await session.scalars(
            insert(ProviderCalendar)
            .values(provider_id=provider.user_id, token_version=2, created_at=now, updated_at=now)
            .on_conflict_do_update(
                index_elements=[ProviderCalendar.provider_id],
                set_={"token_version": ProviderCalendar.token_version + 1, "updated_at": now},
            )
            .returning(ProviderCalendar.token_version)
        )
    ).one()
    await session.commit()
    return feeds.provider_feed(provider.user_id, version)


async def provider_calendar(session: AsyncSession, *, token: str, feeds: Feeds, clock: Clock) -> bytes:
    provider_id = domain.provider_of_token(token)
    calendar = await session.get(ProviderCalendar, provider_id) if provider_id is not None else None
    if provider_id is None or calendar is None:
        raise _not_found()
    expected = domain.provider_feed_token(feeds.secret, provider_id=provider_id, version=calendar.token_version)
    if not domain.same_token(expected, token):
        raise _not_found()
    bookings = (
        await session.scalars(
            select(Booking)
            .where(
                Booking.provider_id == provider_id,
                or_(
                    Booking.status.in_(domain.PROVIDER_CONFIRMED_STATUSES),
                    # Cancelled ones only if paid for before: the others never were on.
                    and_(
                        Booking.status.in_(domain.PROVIDER_CANCELLED_STATUSES),
                        Booking.paid_at.is_not(None),
                        Booking.cancelled_at >= Booking.paid_at,
                    ),
                ),
                Booking.ends_at >= clock.now() - feeds.provider_past,
            )
            .order_by(Booking.starts_at.desc(), Booking.id)
            .limit(MAX_EVENTS)
        )
    ).all()
    events = [domain.booking_event(booking, host=feeds.host) for booking in reversed(bookings)]
    return domain.calendar_of(
        events, uid=f"provider-{provider_id}@{feeds.host}", name="Bookings", refresh=feeds.refresh
    )
