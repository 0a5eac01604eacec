from fastapi import APIRouter

from services.notification.notifications.domain import CHANNELS, NotificationKind
from services.notification.preferences import service
from services.notification.preferences.domain import TRANSACTIONAL, Preferences, QuietHours, changeable
from services.notification.preferences.schemas import (
    ChannelSettingOut,
    KindPreferencesOut,
    PreferencesIn,
    PreferencesOut,
    QuietHoursBody,
)
from shared.auth import CurrentIdentity
from shared.deps import SessionDep
from shared.error_codes import TRANSACTIONAL_EMAIL_REQUIRED
from shared.openapi import problems

router = APIRouter(prefix="/notifications/preferences", tags=["Notifications"])


def _shown(preferences: Preferences) -> PreferencesOut:
    quiet = preferences.quiet_hours
    return PreferencesOut(
        kinds=[
            KindPreferencesOut(
                kind=kind,
                transactional=TRANSACTIONAL[kind],
                channels={
                    channel: ChannelSettingOut(
                        enabled=preferences.enabled(kind, channel), changeable=changeable(kind, channel)
                    )
                    for channel in CHANNELS
                },
            )
            for kind in NotificationKind
        ],
        quiet_hours=QuietHoursBody(start=quiet.start, end=quiet.end, timezone=quiet.timezone) if quiet else None,
    )


@router.get("")
async def read_notification_preferences(viewer: CurrentIdentity, session: SessionDep) -> PreferencesOut:
    """The caller's preferences: every kind with its channels on or off and whether each can be
    switched off, and their quiet hours for SMS."""
    return _shown(await service.preferences_of(session, user_id=viewer.user_id))


@router.put("", responses=problems(TRANSACTIONAL_EMAIL_REQUIRED))
async def replace_notification_preferences(
    body: PreferencesIn, viewer: CurrentIdentity, session: SessionDep
) -> PreferencesOut:
    """Replace all of the caller's preferences (a kind or channel left out is on). Switching
    off the email of a transactional kind is refused with TRANSACTIONAL_EMAIL_REQUIRED."""
    quiet = body.quiet_hours
    preferences = await service.replace_preferences(
        session,
        user_id=viewer.user_id,
        channels={(entry.kind, channel): on for entry in body.kinds for channel, on in entry.channels.items()},
        quiet_hours=QuietHours(start=quiet.start, end=quiet.end, timezone=quiet.timezone) if quiet else None,
    )
    return _shown(preferences)
