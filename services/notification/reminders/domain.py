"""When a booking's traveler is reminded of it. Pure: no database, no SMTP.

The reminder is due 24 h before the booking starts. A booking confirmed less than 24 h before
its start gets none: the confirmation the traveler has just received already says when it
starts, and a reminder minutes later would only repeat it.
"""

from datetime import datetime, timedelta
from enum import StrEnum

REMINDER_LEAD = timedelta(hours=24)


class ReminderKind(StrEnum):
    """Every scheduled reminder there is; a booking has at most one of each."""

    TRAVELER_BEFORE_START = "traveler_before_start"


def reminder_due_at(*, starts_at: datetime, confirmed_at: datetime) -> datetime | None:
    """When the traveler of a booking confirmed at `confirmed_at` is reminded of it; None if
    it was confirmed too close to its start to be worth a reminder."""
    due_at = starts_at - REMINDER_LEAD
    return due_at if due_at > confirmed_at else None
