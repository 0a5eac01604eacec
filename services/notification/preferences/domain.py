"""Who wants to hear what, and how: per kind and channel, with quiet hours for SMS. Pure: no
database.

Every channel of every kind is on until its recipient switches it off, but the email of a
transactional kind (a booking confirmed or cancelled, a refund, what guards the account) cannot
be switched off: it is the record of what was agreed or of what happened to the account. SMS
in the recipient's quiet hours is not dropped: it waits for the window's end.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notification.notifications.domain import CHANNELS, Channel, NotificationKind
from shared.error_codes import TRANSACTIONAL_EMAIL_REQUIRED
from shared.errors import InvalidInput

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
