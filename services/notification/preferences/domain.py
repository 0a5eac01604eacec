"""Who wants to hear what, and how: per kind and channel, with quiet hours for SMS. Pure: no
database.

Every channel of every kind is on until its recipient switches it off, but the email of a
transactional kind (a booking confirmed or cancelled, a refund, what guards the account) cannot
be switched off: it is the record of what was agreed or of what happened to the account. SMS
in the recipient's quiet hours is not dropped: it waits for the window's end.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notification.notifications.domain import CHANNELS, Channel, NotificationKind
from shared.error_codes import INVALID_SIGNATURE, TRANSACTIONAL_EMAIL_REQUIRED
from shared.errors import AppError, InvalidInput

# Every kind, said once: whether its email is transactional (always sent, whatever the
# recipient's preferences).
TRANSACTIONAL: Mapping[NotificationKind, bool] = {
    NotificationKind.BOOKING_CONFIRMED: True,
    NotificationKind.BOOKING_CANCELLED: True,
    NotificationKind.BOOKING_CHANGED: True,
    NotificationKind.BALANCE_CHARGE_FAILED: True,
    NotificationKind.BOOKED_ON_BEHALF: True,
    NotificationKind.BOOKING_REMINDER: False,
    NotificationKind.BOOKING_REQUEST_CREATED: False,
    NotificationKind.BOOKING_REQUEST_PROVIDER_REMINDED: False,
    NotificationKind.BOOKING_REQUEST_PROVIDER_WARNED: False,
    NotificationKind.BOOKING_REQUEST_ACCEPTED: False,
    NotificationKind.BOOKING_REQUEST_COUNTER_ACCEPTED: False,
    NotificationKind.BOOKING_REQUEST_DECLINED: False,
    NotificationKind.BOOKING_REQUEST_COUNTERED: False,
    NotificationKind.BOOKING_REQUEST_EXPIRED: False,
    # What happened to a booking or to money: its record.
    NotificationKind.BOOKING_EXPIRED: True,
    NotificationKind.PAYMENT_FAILED: True,
    NotificationKind.REFUND_COMPLETED: True,
    NotificationKind.PROVIDER_BOOKING_RECEIVED: True,
    NotificationKind.PROVIDER_BOOKING_CANCELLED: True,
    NotificationKind.PROVIDER_BOOKING_CHANGED: True,
    NotificationKind.PAYOUT_FAILED: True,
    NotificationKind.PAYOUT_FAILED_OPS: True,
    # Offers and asks: a recipient may prefer another channel (the offer also goes by SMS and in-app).
    NotificationKind.WAITLIST_OFFERED: False,
    NotificationKind.HANDOFF_REQUESTED: False,
    NotificationKind.EMAIL_VERIFICATION: True,
    NotificationKind.REGISTRATION_ATTEMPTED: True,
    NotificationKind.PASSWORD_RESET: True,
    NotificationKind.PASSWORD_CHANGED: True,
    NotificationKind.PROVIDER_DAILY_MANIFEST: False,
    # Ops-critical: an admin cannot switch off hearing that messages are being dropped.
    NotificationKind.DEAD_LETTERS: True,
    # The provider's integration stopped hearing of their bookings: they cannot switch that off.
    NotificationKind.WEBHOOK_SUBSCRIPTION_DISABLED: True,
}


def changeable(kind: NotificationKind, channel: Channel) -> bool:
    """Whether the recipient may switch this channel of this kind off."""
    return not (channel == "email" and TRANSACTIONAL[kind])


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in the recipient's own zone, in which no SMS is sent them: from `start`
    (included) to `end` (excluded), wall-clock times; `start` after `end` crosses midnight."""

    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidInput("Quiet hours are wall-clock times: their zone is `timezone`.")
        if self.start == self.end:
            raise InvalidInput("Quiet hours need a start and an end that differ.", details={"start": str(self.start)})
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("Not a known IANA timezone.", details={"timezone": self.timezone}) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def crosses_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, at: datetime) -> bool:
        """Whether the recipient's wall clock at `at` is in the window."""
        wall = at.astimezone(self.zone).time().replace(tzinfo=None)
        if self.crosses_midnight():
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def held_until(self, at: datetime) -> datetime | None:
        """When an SMS due at `at` may go: None when `at` is outside the window, else the
        window's end. The end is a wall-clock time on the recipient's calendar (the next day's
        when the window crosses midnight and `at` is before it), so a window ending at 07:00
        ends at 07:00 local on the night the clocks change too. An end the clocks jump over
        that day is read on the offset before the jump (an hour late, at most, once a year); one
        that comes twice (the clocks go back) is the first after `at`."""
        if not self.contains(at):
            return None
        local = at.astimezone(self.zone)
        day = local.date()
        if self.crosses_midnight() and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        end = datetime.combine(day, self.end, tzinfo=self.zone)
        if end <= at:
            # The end's wall time came twice (the clocks went back) and `at` is past the first.
            end = end.replace(fold=1)
        return end.astimezone(UTC)


@dataclass(frozen=True)
class Preferences:
    """A recipient's choices: the channels they set per kind (any not set is at its default)
    and their quiet hours, if any."""

    channels: Mapping[tuple[NotificationKind, Channel], bool] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None

    def enabled(self, kind: NotificationKind, channel: Channel) -> bool:
        if not changeable(kind, channel):
            return True
        # Before a recipient says otherwise, every channel a kind goes by is on.
        return self.channels.get((kind, channel), True)


def check_changeable(channels: Mapping[tuple[NotificationKind, Channel], bool]) -> None:
    """Refuse switching off what cannot be: the email of a transactional kind."""
    refused = sorted(kind.value for (kind, channel), on in channels.items() if not on and not changeable(kind, channel))
    if refused:
        raise InvalidInput(
            "The email of a transactional notification cannot be switched off.",
            error_code=TRANSACTIONAL_EMAIL_REQUIRED.code,
            details={"kinds": refused, "channel": "email"},
        )


@dataclass(frozen=True)
class Routing:
    """Where one notification goes: its channels, and when its SMS may be sent."""

    channels: frozenset[Channel]
    sms_due_at: datetime


def channels_for(kind: NotificationKind, preferences: Preferences, *, now: datetime) -> Routing:
    """The channels a notification of `kind` goes by for a recipient with `preferences`, at
    `now`: those they did not switch off (a transactional email always), the SMS held to the
    end of their quiet hours when `now` is in them."""
    channels = frozenset(channel for channel in CHANNELS if preferences.enabled(kind, channel))
    held = preferences.quiet_hours.held_until(now) if preferences.quiet_hours is not None else None
    return Routing(channels=channels, sms_due_at=held if held is not None else now)


@dataclass(frozen=True)
class Unsubscription:
    """What an unsubscribe link switches off: one channel of one kind, for one user."""

    user_id: UUID
    kind: NotificationKind
    channel: Channel


class InvalidUnsubscribeToken(AppError):
    status_code = INVALID_SIGNATURE.status
    error_code = INVALID_SIGNATURE.code

    def __init__(self) -> None:
        super().__init__("This unsubscribe link is not valid: it was cut short or altered.")


# Told apart from anything else the secret might ever sign.
_TOKEN_PURPOSE = b"notification-unsubscribe:v1:"


@dataclass(frozen=True)
class UnsubscribeLinks:
    """One-click unsubscribe links (RFC 8058): `<base_url>/notifications/unsubscribe?token=…`,
    the token naming the user, the kind and the channel, signed with HMAC-SHA256 under
    `secret`. A token does not expire: an old email's link still works, as mail clients expect."""

    secret: bytes
    base_url: str

    def token(self, unsubscription: Unsubscription) -> str:
        claims = f"{unsubscription.user_id}.{unsubscription.kind.value}.{unsubscription.channel}"
        return f"{claims}.{self._signature(claims)}"

    def link(self, unsubscription: Unsubscription) -> str:
        query = urlencode({"token": self.token(unsubscription)})
        return f"{self.base_url.rstrip('/')}/notifications/unsubscribe?{query}"

    def read(self, token: str) -> Unsubscription:
        """The unsubscription a token names; InvalidUnsubscribeToken when it is not one this
        secret signed, or names what cannot be switched off."""
        claims, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(claims).encode()):
            raise InvalidUnsubscribeToken
        user_id, kind, channel = claims.split(".")
        unsubscription = Unsubscription(
            user_id=UUID(user_id),
            kind=NotificationKind(kind),
            channel=next(known for known in CHANNELS if known == channel),
        )
        if not changeable(unsubscription.kind, unsubscription.channel):
            raise InvalidUnsubscribeToken
        return unsubscription

    def _signature(self, claims: str) -> str:
        digest = hmac.new(self.secret, _TOKEN_PURPOSE + claims.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
