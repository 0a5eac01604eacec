"""Local times shown beside UTC: the same instant, in the wall clock and offset of a zone."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.times import LocalTimes, in_zone

ZONES = ["UTC", "Europe/Lisbon", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe"]


def span(timezone: str, starts_at: str, ends_at: str) -> dict[str, str]:
    shown: dict[str, str] = json.loads(
        LocalTimes.model_validate({"timezone": timezone, "starts_at": starts_at, "ends_at": ends_at}).model_dump_json()
    )
    return shown


def test_local_times_are_written_with_the_zones_offset() -> None:
    shown = span("Europe/Berlin", "2031-05-05T08:00:00Z", "2031-05-05T10:30:00Z")
    assert shown == {
        "timezone": "Europe/Berlin",
        "starts_at": "2031-05-05T08:00:00Z",
        "ends_at": "2031-05-05T10:30:00Z",
        "local_starts_at": "2031-05-05T10:00:00+02:00",
        "local_ends_at": "2031-05-05T12:30:00+02:00",
    }


def test_zones_off_the_hour_keep_their_minutes() -> None:
    kathmandu = span("Asia/Kathmandu", "2031-05-05T04:15:00Z", "2031-05-05T06:00:00Z")
    assert (kathmandu["local_starts_at"], kathmandu["local_ends_at"]) == (
        "2031-05-05T10:00:00+05:45",
        "2031-05-05T11:45:00+05:45",
    )
    st_johns = span("America/St_Johns", "2031-01-10T13:30:00Z", "2031-01-10T15:00:00Z")
    assert st_johns["local_starts_at"] == "2031-01-10T10:00:00-03:30"


def test_a_span_across_the_spring_change_ends_in_summer_time() -> None:
    # Newfoundland moves its clocks from 02:00 to 03:00 on 9 March 2031.
    shown = span("America/St_Johns", "2031-03-09T05:00:00Z", "2031-03-09T06:00:00Z")
    assert (shown["local_starts_at"], shown["local_ends_at"]) == (
        "2031-03-09T01:30:00-03:30",
        "2031-03-09T03:30:00-02:30",
    )


def test_the_hour_repeated_in_autumn_is_told_apart_by_its_offset() -> None:
    # Berlin goes back from 03:00 to 02:00 on 26 October 2031: 02:30 happens twice.
    first = span("Europe/Berlin", "2031-10-26T00:30:00Z", "2031-10-26T00:45:00Z")
    second = span("Europe/Berlin", "2031-10-26T01:30:00Z", "2031-10-26T01:45:00Z")
    assert first["local_starts_at"] == "2031-10-26T02:30:00+02:00"
    assert second["local_starts_at"] == "2031-10-26T02:30:00+01:00"


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_zone(datetime(2031, 5, 5, 10), "Europe/Lisbon")


@given(
    at=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    length=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=30)),
    timezone=st.sampled_from(ZONES),
)
def test_the_local_times_are_the_same_instants_at_the_zones_offset_then(
    at: datetime, length: timedelta, timezone: str
) -> None:
    shown = span(timezone, at.isoformat(), (at + length).isoformat())
    for utc, local in ((at, shown["local_starts_at"]), (at + length, shown["local_ends_at"])):
        parsed = datetime.fromisoformat(local)
        assert parsed == utc
        offset = parsed.utcoffset()
        assert offset is not None
        assert offset == utc.astimezone(ZoneInfo(timezone)).utcoffset()
        assert parsed.replace(tzinfo=None) == utc.replace(tzinfo=None) + offset
