"""When a provider gets the manifest of a day's bookings. Pure: no database, no SMTP.

A provider's manifest of a day lists the bookings that start that day, in the listing's own
time zone, and is due from 18:00 the evening before (the zone's local time) until the day
begins: late enough to include the day's bookings made that afternoon, early enough to plan
the morning. A provider with listings in several zones gets one manifest per zone and day.
A manifest not sent before its day began (no job ran all evening) is not sent late: by then
the provider has the bookings' own notifications and the day has started.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

MANIFEST_LOCAL_TIME = time(18, 0)


def manifest_day_due(now: datetime, timezone: str) -> date | None:
    """The local day whose manifest is due at `now` in `timezone`: tomorrow from 18:00 on, else none."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.time() < MANIFEST_LOCAL_TIME:
        return None
    return local.date() + timedelta(days=1)


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants, in UTC, a local day starts and ends (23 or 25 hours apart on the days the
    clocks change: arithmetic on two datetimes of one zone would count wall-clock hours)."""
    zone = ZoneInfo(timezone)
    start, end = (datetime.combine(midnight, time.min, tzinfo=zone) for midnight in (day, day + timedelta(days=1)))
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class ManifestLine:
    """One booking of the day as the provider's manifest lists it."""

    booking_id: UUID
    reference: str
    listing_title: str
    starts_at: datetime
    seats: int
    contact_name: str
