"""Recurrence against a day-by-day reference, over many generated cases (hypothesis)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.inventory.schedules.domain import Rule, local_start_in_utc, run_dates

days = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))
recurrences = st.sampled_from(["none", "daily", "weekly", "biweekly", "monthly"])
weekday_sets = st.lists(st.integers(min_value=0, max_value=6), max_size=7, unique=True)


def _reference_runs(rule: Rule, day: date) -> bool:
    if day < rule.valid_from or (rule.valid_until and day > rule.valid_until):
        return False
    match rule.recurrence:
        case "none":
            return day == rule.valid_from
        case "daily":
            return True
        case "weekly":
            return day.weekday() in (rule.weekdays or (rule.valid_from.weekday(),))
        case "biweekly":
            first_week = rule.valid_from - timedelta(days=rule.valid_from.weekday())
            on_weeks = {first_week + timedelta(weeks=2 * k) for k in range(60)}
            this_week = day - timedelta(days=day.weekday())
            return day.weekday() in (rule.weekdays or (rule.valid_from.weekday(),)) and this_week in on_weeks
        case _:
            return day.day == rule.valid_from.day


@given(recurrences, days, st.integers(min_value=0, max_value=400), weekday_sets, days, st.integers(0, 120))
def test_run_dates_match_a_day_by_day_reference(
    recurrence: str, valid_from: date, length: int, weekdays: list[int], start: date, window: int
) -> None:
    weekly = recurrence in ("weekly", "biweekly")
    rule = Rule(
        recurrence=recurrence,  # type: ignore[arg-type]
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=length),
        weekdays=tuple(sorted(weekdays)) if weekly else (),
    )
    end = start + timedelta(days=window)
    expected = [start + timedelta(days=offset) for offset in range(window + 1)]
    assert list(run_dates(rule, start=start, end=end)) == [day for day in expected if _reference_runs(rule, day)]


def test_local_start_times_hold_across_daylight_saving_changes() -> None:
    lisbon = "Europe/Lisbon"
    before = local_start_in_utc(date(2026, 3, 28), time(10, 0), lisbon)
    after = local_start_in_utc(date(2026, 3, 30), time(10, 0), lisbon)
    assert (before.hour, after.hour) == (10, 9)
    for start in (before, after):
        assert start.astimezone(ZoneInfo(lisbon)).time() == time(10, 0)
    skipped = local_start_in_utc(date(2026, 3, 29), time(1, 30), lisbon)
    assert skipped == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
