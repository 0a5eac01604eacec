"""Which notifications are shown in-app, what an in-app item says in one line, and the cursor
of its list. Pure: no database, no Redis."""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from services.notification.notifications.domain import NotificationDraft, NotificationKind
from shared.errors import InvalidInput

# Every kind, said once: whether it also goes to the recipient's in-app feed. Account emails do
# not: they are about the mailbox or the credential (a link to verify it, to reset a password,
# a warning that someone used it), for whoever holds the mailbox, signed in or not.
SHOWN_IN_APP: Mapping[NotificationKind, bool] = {
    NotificationKind.BOOKING_CONFIRMED: True,
    NotificationKind.BOOKING_CANCELLED: True,
    NotificationKind.BOOKING_CHANGED: True,
    NotificationKind.BOOKING_REMINDER: True,
    NotificationKind.BALANCE_CHARGE_FAILED: True,
    NotificationKind.BOOKED_ON_BEHALF: True,
    NotificationKind.BOOKING_REQUEST_CREATED: True,
    NotificationKind.BOOKING_REQUEST_PROVIDER_REMINDED: True,
    NotificationKind.BOOKING_REQUEST_PROVIDER_WARNED: True,
    NotificationKind.BOOKING_REQUEST_ACCEPTED: True,
    NotificationKind.BOOKING_REQUEST_COUNTER_ACCEPTED: True,
    NotificationKind.BOOKING_REQUEST_DECLINED: True,
    NotificationKind.BOOKING_REQUEST_COUNTERED: True,
    NotificationKind.BOOKING_REQUEST_EXPIRED: True,
    NotificationKind.BOOKING_EXPIRED: True,
    NotificationKind.PAYMENT_FAILED: True,
    NotificationKind.REFUND_COMPLETED: True,
    NotificationKind.WAITLIST_OFFERED: True,
    NotificationKind.PROVIDER_BOOKING_RECEIVED: True,
    NotificationKind.PROVIDER_BOOKING_CANCELLED: True,
    NotificationKind.PROVIDER_BOOKING_CHANGED: True,
    NotificationKind.HANDOFF_REQUESTED: True,
    NotificationKind.PAYOUT_FAILED: True,
    NotificationKind.PAYOUT_FAILED_OPS: True,
    NotificationKind.EMAIL_VERIFICATION: False,
    NotificationKind.REGISTRATION_ATTEMPTED: False,
    NotificationKind.PASSWORD_RESET: False,
    NotificationKind.PASSWORD_CHANGED: False,
    NotificationKind.PROVIDER_DAILY_MANIFEST: True,
    NotificationKind.DEAD_LETTERS: True,
    NotificationKind.WEBHOOK_SUBSCRIPTION_DISABLED: True,
}


def in_app_feed_of(draft: NotificationDraft) -> UUID | None:
    """The account whose in-app feed shows the notification, if any: in-app is an account's
    feed, so only a recipient the event names by account has one."""
    return draft.recipient.user_id if SHOWN_IN_APP[draft.kind] else None


SUMMARY_LIMIT = 500
_WHITESPACE = re.compile(r"\s+")


def one_line(text: str, *, limit: int) -> str:
    """Any text as one line of at most `limit` characters: newlines and runs of spaces are one space."""
    line = _WHITESPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def summary(facts: Mapping[str, Any], *, timezone: str | None) -> str:
    """What the item is about, from the event's facts: the listing (or the trip a traveler
    describes), when it starts (in the listing's own time), the booking's reference, the amount
    (of a refund, a payout); whichever of them the event has."""
    parts = [str(facts[key]) for key in ("listing_title", "description") if facts.get(key)]
    starts_at = facts.get("starts_at") or facts.get("booking_starts_at")
    if isinstance(starts_at, str):
        parts.append(_local(starts_at, timezone))
    if facts.get("reference"):
        parts.append(str(facts["reference"]))
    if facts.get("amount") and facts.get("currency"):
        parts.append(f"{facts['amount']} {facts['currency']}")
    return one_line(" · ".join(parts), limit=SUMMARY_LIMIT)


def _local(instant: str, timezone: str | None) -> str:
    try:
        moment = datetime.fromisoformat(instant)
        if timezone is not None:
            moment = moment.astimezone(ZoneInfo(timezone))
    except (ValueError, KeyError):
        return instant
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


Order = Literal["newest", "unread_first"]


@dataclass(frozen=True)
class Position:
    """Where a page ended in the list's order: read or not (for unread first), when, which."""

    read: bool
    created_at: datetime
    notification_id: UUID

    def encode(self) -> str:
        raw = f"{int(self.read)}|{self.created_at.isoformat()}|{self.notification_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            read, created_at, notification_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
            at = datetime.fromisoformat(created_at)
            if read not in ("0", "1") or at.tzinfo is None:
                raise ValueError("not a cursor this list made")
            return cls(read=read == "1", created_at=at, notification_id=UUID(notification_id))
        except ValueError:
            raise InvalidInput("The cursor is not valid.", details={"cursor": cursor}) from None
