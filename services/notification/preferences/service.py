"""Notification preferences: read and replaced by their user; consulted when a notification
is recorded, to pick its channels and when its SMS goes."""

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.notifications.domain import Channel, NotificationKind
from services.notification.preferences.domain import (
    Preferences,
    QuietHours,
    Routing,
    Unsubscription,
    channels_for,
    check_changeable,
)
from services.notification.preferences.models import ChannelPreference, QuietHoursSetting


async def preferences_of(session: AsyncSession, *, user_id: UUID) -> Preferences:
    rows = await session.scalars(select(ChannelPreference).where(ChannelPreference.user_id == user_id))
    channels: dict[tuple[NotificationKind, Channel], bool] = {
        (NotificationKind(row.kind), row.channel): row.enabled  # type: ignore[misc]  # written from Channel only
        for row in rows
    }
    quiet = await session.get(QuietHoursSetting, user_id)
    quiet_hours = QuietHours(start=quiet.starts_at, end=quiet.ends_at, timezone=quiet.timezone) if quiet else None
    return Preferences(channels=channels, quiet_hours=quiet_hours)


async def replace_preferences(
    session: AsyncSession,
    *,
    user_id: UUID,
    channels: Mapping[tuple[NotificationKind, Channel], bool],
    quiet_hours: QuietHours | None,
) -> Preferences:
    """Replace all of the user's preferences with these; refused, changing nothing, when they
    switch off what cannot be."""
    check_changeable(channels)
    async with session.begin():
        await _lock_preferences_of(session, user_id)
        await session.execute(delete(ChannelPreference).where(ChannelPreference.user_id == user_id))
        await session.execute(delete(QuietHoursSetting).where(QuietHoursSetting.user_id == user_id))
        session.add_all(
            ChannelPreference(user_id=user_id, kind=kind.value, channel=channel, enabled=enabled)
            for (kind, channel), enabled in channels.items()
        )
        if quiet_hours is not None:
            session.add(
                QuietHoursSetting(
                    user_id=user_id, starts_at=quiet_hours.start, ends_at=quiet_hours.end, timezone=quiet_hours.timezone
                )
            )
    return Preferences(channels=dict(channels), quiet_hours=quiet_hours)


async def routing_for(session: AsyncSession, *, kind: NotificationKind, user_id: UUID | None, now: datetime) -> Routing:
    """Where a notification of `kind` to `user_id` goes at `now`, in the caller's transaction.
    A recipient known only by address has no preferences: every channel at its default."""
    preferences = await preferences_of(session, user_id=user_id) if user_id is not None else Preferences()
    return channels_for(kind, preferences, now=now)


async def unsubscribe(session: AsyncSession, unsubscription: Unsubscription) -> None:
    """Switch off the one channel of one kind an unsubscribe link names, the rest of the
    user's preferences as they were; again is harmless."""
    async with session.begin():
        await _lock_preferences_of(session, unsubscription.user_id)
        await session.execute(
            insert(ChannelPreference)
            .values(
                user_id=unsubscription.user_id,
                kind=unsubscription.kind.value,
                channel=unsubscription.channel,
                enabled=False,
            )
            .on_conflict_do_update(index_elements=["user_id", "kind", "channel"], set_={"enabled": False})
        )


async def _lock_preferences_of(session: AsyncSession, user_id: UUID) -> None:
    # One change at a time per user: a replacement beside another change would mix their rows.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"notification-preferences:{user_id}"))))
