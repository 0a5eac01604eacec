"""Recurrence, pure: which local dates a schedule runs on, and when that is in UTC."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Recurrence = Literal["none", "daily", "weekly", "biweekly", "monthly"]


@dataclass(frozen=True)
class Rule:
    recurrence: Recurrence
    valid_from: date
    valid_until: date | None
    weekdays: tuple[int, ...] = ()  # 0 = Monday … 6 = Sunday; weekly and biweekly only


def _runs_on(rule: Rule, day: date) -> bool:
    if day < rule.valid_from or (rule.valid_until is not None and day > rule.valid_until):
        return False
    if rule.recurrence == "none":
        return day == rule.valid_from
    if rule.recurrence == "daily":
        return True
    if rule.recurrence in ("weekly", "biweekly"):
        weekdays = rule.weekdays or (rule.valid_from.weekday(),)
        if day.weekday() not in weekdays:
            return False
        if rule.recurrence == "weekly":
            return True
        first_monday = rule.valid_from - timedelta(days=rule.valid_from.weekday())
        return ((day - first_monday).days // 7) % 2 == 0
    # monthly: the day of the month it started on; months too short for it are skipped
    return day.day == rule.valid_from.day


def run_dates(rule: Rule, *, start: date, end: date) -> Iterator[date]:
    """The dates in [start, end] the rule runs on, in order."""
    day = max(start, rule.valid_from)
    last = min(end, rule.valid_until) if rule.valid_until else end
    while day <= last:
        if _runs_on(rule, day):
            yield day
        day += timedelta(days=1)


def local_start_in_utc(day: date, start_time: time, timezone: str) -> datetime:
    """The UTC instant of a local wall-clock start. A time that a DST jump skips is read with
    the offset before the jump (so 02:30 on a spring-forward night becomes 03:30)."""
    return datetime.combine(day, start_time, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
