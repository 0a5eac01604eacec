"""Providers' daily manifests: the bookings they keep from booking's events, and the job that
writes each provider's manifest of tomorrow once, from 18:00 local time.

Keeping the bookings happens in the transaction of the event's inbox row. The job may run on
any number of replicas: a manifest is a row unique per provider, zone and day, written in the
transaction that records its notification, so a second replica's insert waits for the first
and then writes nothing.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.manifests.domain import ManifestLine, local_day_bounds, manifest_day_due
from services.notification.manifests.models import ProviderBooking, ProviderManifest
from services.notification.notifications.domain import storable
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified

# How far ahead the job looks for zones with bookings: tomorrow, wherever it is, starts within it.
_LOOKAHEAD = timedelta(hours=50)


def _kept(booking: BookingConfirmed | BookingCancelled, *, status: str) -> dict[str, Any]:
    return {
        "booking_id": booking.booking_id,
        "provider_id": booking.provider_id,
        "reference": storable(booking.reference),
        "listing_title": storable(booking.listing_title),
        "starts_at": booking.starts_at,
        "timezone": booking.timezone,
        "seats": booking.seats,
        "contact_name": storable(booking.contact_name),
        "status": status,
    }


async def keep_confirmed_booking(session: AsyncSession, booking: BookingConfirmed) -> None:
    await session.execute(
        insert(ProviderBooking)
        .values(_kept(booking, status="confirmed"))
        .on_conflict_do_nothing(index_elements=["booking_id"])
    )


async def keep_cancelled_booking(session: AsyncSession, booking: BookingCancelled) -> None:
    await session.execute(
        insert(ProviderBooking)
        .values(_kept(booking, status="cancelled"))
        .on_conflict_do_update(index_elements=["booking_id"], set_={"status": "cancelled"})
    )


async def keep_changed_booking(session: AsyncSession, booking: BookingModified) -> None:
    await session.execute(
        update(ProviderBooking)
        .where(ProviderBooking.booking_id == booking.booking_id, ProviderBooking.status == "confirmed")
        .values(
            listing_title=storable(booking.listing_title),
            starts_at=booking.starts_at,
            timezone=booking.timezone,
            seats=booking.seats,
        )
    )


WrittenManifest = tuple[ProviderManifest, list[ManifestLine]]


async def write_due_manifests(session: AsyncSession, *, now: datetime) -> list[WrittenManifest]:
    """Write every manifest due at `now` and not written yet, with its lines; the caller
    records their notifications in the same transaction."""
    zones = await session.scalars(
        select(ProviderBooking.timezone)
        .where(
            ProviderBooking.status == "confirmed",
            ProviderBooking.starts_at > now,
            ProviderBooking.starts_at <= now + _LOOKAHEAD,
        )
        .distinct()
    )
    written: list[WrittenManifest] = []
    for timezone in zones.all():
        day = manifest_day_due(now, timezone)
        if day is None:
            continue
        start, end = local_day_bounds(day, timezone)
        bookings = await session.scalars(
            select(ProviderBooking)
            .where(
                ProviderBooking.status == "confirmed",
                ProviderBooking.timezone == timezone,
                ProviderBooking.starts_at >= start,
                ProviderBooking.starts_at < end,
            )
            .order_by(ProviderBooking.provider_id, ProviderBooking.starts_at, ProviderBooking.reference)
        )
        by_provider: dict[UUID, list[ManifestLine]] = defaultdict(list)
        for booking in bookings.all():
            by_provider[booking.provider_id].append(
                ManifestLine(
                    booking_id=booking.booking_id,
                    reference=booking.reference,
                    listing_title=booking.listing_title,
                    starts_at=booking.starts_at,
                    seats=booking.seats,
                    contact_name=booking.contact_name,
                )
            )
        for provider_id, lines in by_provider.items():
            manifest_id = await session.scalar(
                insert(ProviderManifest)
                .values(
                    id=uuid4(),
                    provider_id=provider_id,
                    timezone=timezone,
                    local_date=day,
                    booking_ids=[line.booking_id for line in lines],
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["provider_id", "timezone", "local_date"])
                .returning(ProviderManifest.id)
            )
            if manifest_id is not None:
                written.append((await session.get_one(ProviderManifest, manifest_id), lines))
    return written
