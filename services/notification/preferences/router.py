from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.notification.notifications.domain import CHANNELS, NotificationKind
from services.notification.preferences import service
from services.notification.preferences.domain import TRANSACTIONAL, Preferences, QuietHours, changeable
from services.notification.preferences.pages import unsubscribe_form, unsubscribed_page
from services.notification.preferences.schemas import (
    ChannelSettingOut,
    KindPreferencesOut,
    PreferencesIn,
    PreferencesOut,
    QuietHoursBody,
    UnsubscribedOut,
)
from services.notification.settings import NotificationSettings
from shared.auth import CurrentIdentity
from shared.deps import SessionDep
from shared.error_codes import INVALID_SIGNATURE, TRANSACTIONAL_EMAIL_REQUIRED
from shared.openapi import problems

router = APIRouter(prefix="/notifications/preferences", tags=["Notifications"])
# Public: the link of an email's List-Unsubscribe, followed without signing in; its token says who.
unsubscribe_router = APIRouter(prefix="/notifications/unsubscribe", tags=["Notifications"])

Token = Annotated[str, Query(max_length=300, description="The signed token of the email's unsubscribe link.")]


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


@unsubscribe_router.get("", response_class=HTMLResponse, responses=problems(INVALID_SIGNATURE))
async def show_unsubscribe_page(token: Token, request: Request) -> HTMLResponse:
    """A page with a button that unsubscribes (a POST to this URL). Looking changes nothing:
    mail clients and link scanners fetch links by GET."""
    unsubscription = _settings(request).unsubscribe_links().read(token)
    return HTMLResponse(unsubscribe_form(unsubscription, token=token))


@unsubscribe_router.post("", response_model=UnsubscribedOut, responses=problems(INVALID_SIGNATURE))
async def unsubscribe_from_email(token: Token, request: Request, session: SessionDep) -> UnsubscribedOut | HTMLResponse:
    """Switch off the email of the kind the token names, for the user it names (RFC 8058
    one-click; again is harmless). A token not signed by this service is INVALID_SIGNATURE and
    changes nothing. A browser (asking for HTML) gets a page saying so."""
    unsubscription = _settings(request).unsubscribe_links().read(token)
    await service.unsubscribe(session, unsubscription)
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(unsubscribed_page(unsubscription))
    return UnsubscribedOut(kind=unsubscription.kind, channel=unsubscription.channel, enabled=False)


def _settings(request: Request) -> NotificationSettings:
    settings: NotificationSettings = request.app.state.resources.settings
    return settings
