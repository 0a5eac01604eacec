"""Providers' daily manifests: the bookings they keep from booking's events, and the job that
writes each provider's manifest of tomorrow once, from 18:00 local time, and tells the provider.

Keeping the bookings happens in the transaction of the event's inbox row. The job may run on
any number of replicas: a manifest is a row unique per provider, zone and day, written in the
transaction that records its notification, so a second replica's insert waits for the first
and then writes nothing. A provider the account directory does not know (yet) has the manifest
written all the same, and is told nothing: the job does not write it again.
"""

import logging
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notification.directory.service import recipient_for
from services.notification.email.manifests import provider_daily_manifest
from services.notification.manifests.domain import ManifestLine, local_day_bounds, manifest_day_due
from services.notification.manifests.models import ProviderBooking, ProviderManifest
from services.notification.notifications.domain import NotificationDraft, NotificationKind, Recipient, storable
from services.notification.notifications.service import record_notification
from services.notification.settings import NotificationSettings
from shared.contracts.booking import BookingCancelled, BookingConfirmed, BookingModified

logger = logging.getLogger(__name__)

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


async def send_due_manifests(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    settings: NotificationSettings,
    redis: Redis,
) -> int:
    """Write every manifest due at `now` and record its notification to its provider, in one
    transaction; how many manifests were written."""
    async with session_factory() as session, session.begin():
        written = await write_due_manifests(session, now=now)
        for manifest, lines in written:
            recipient = await recipient_for(session, manifest.provider_id)
            if recipient is None:
                logger.warning(
                    "manifest %s of %s (%s) not sent: provider %s is not in the account directory",
                    manifest.id,
                    manifest.local_date,
                    manifest.timezone,
                    manifest.provider_id,
                )
                continue
            await record_notification(
                session,
                source_event_id=manifest.id,
                draft=_manifest_notification(manifest, lines, recipient, sender=settings.mail_from),
                now=now,
                addressing=settings.addressing(),
                redis=redis,
            )
    return len(written)


def _manifest_notification(
    manifest: ProviderManifest, lines: list[ManifestLine], recipient: Recipient, *, sender: str
) -> NotificationDraft:
    message = provider_daily_manifest(
        day=manifest.local_date,
        timezone=manifest.timezone,
        lines=lines,
        sender=sender,
        recipient=recipient.email,
        locale=recipient.locale,
    )
    return NotificationDraft(
        kind=NotificationKind.PROVIDER_DAILY_MANIFEST,
        # The address as the message's one-line To header has it.
        recipient=Recipient(
            email=str(message["To"]), user_id=recipient.user_id, locale=recipient.locale, timezone=manifest.timezone
        ),
        subject_type="provider_manifest",
        subject_id=manifest.id,
        title=str(message["Subject"]),
        email=message,
        facts={
            "local_date": manifest.local_date.isoformat(),
            "timezone": manifest.timezone,
            "bookings": [
                {**asdict(line), "booking_id": str(line.booking_id), "starts_at": line.starts_at.isoformat()}
                for line in lines
            ],
        },
    )
