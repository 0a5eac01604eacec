"""Times for people: an instant is kept and compared in UTC, and shown beside it as the wall
clock of the place where it happens (its IANA zone), so a client shows "10:00 in Lisbon"
without a timezone database of its own."""

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, computed_field


def in_zone(at: datetime, timezone: str) -> datetime:
    """`at` as the local time of the IANA zone `timezone`, with that zone's offset on that
    instant (summer or winter time alike); the same instant, only written differently."""
    if at.tzinfo is None:
        raise ValueError("a local time needs a timezone-aware instant")
    return at.astimezone(ZoneInfo(timezone))


class LocalTimes(BaseModel):
    """A start and end in UTC with the IANA zone of the place, and the same start and end as
    local times of that zone (ISO 8601 with its offset, e.g. 2031-05-05T10:00:00+02:00).
    The local times are derived on output, so they never disagree with the UTC ones."""

    timezone: str
    starts_at: datetime
    ends_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def local_starts_at(self) -> datetime:
        return in_zone(self.starts_at, self.timezone)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def local_ends_at(self) -> datetime:
        return in_zone(self.ends_at, self.timezone)
