"""The rules of preferences, pure: every kind is decided transactional or not; a transactional
email stays on whatever is asked; quiet hours hold an SMS exactly while the recipient's wall
clock is in the window, to its end, across midnight and across the clocks changing."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notification.notifications.domain import NotificationKind
from services.notification.preferences.domain import TRANSACTIONAL, Preferences, QuietHours, channels_for
from shared.errors import InvalidInput

# Zones with summer time in either hemisphere, a half-hour shift (Lord Howe), a far offset, none.
ZONES = ("Europe/Lisbon", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "UTC")
FIXED_ZONES = ("Asia/Kolkata", "UTC", "Asia/Tokyo")

wall_times = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


def _windows(zones: tuple[str, ...]) -> st.SearchStrategy[QuietHours]:
    return (
        st.tuples(wall_times, wall_times, st.sampled_from(zones))
        .filter(lambda parts: parts[0] != parts[1])
        .map(lambda parts: QuietHours(start=parts[0], end=parts[1], timezone=parts[2]))
    )


def test_every_kind_is_decided_transactional_or_not_and_confirmations_and_cancellations_are() -> None:
    assert set(TRANSACTIONAL) == set(NotificationKind)
    assert TRANSACTIONAL[NotificationKind.BOOKING_CONFIRMED]
    assert TRANSACTIONAL[NotificationKind.BOOKING_CANCELLED]
    assert not TRANSACTIONAL[NotificationKind.BOOKING_REQUEST_COUNTERED]


def test_a_transactional_email_goes_even_if_stored_as_off_and_an_optional_one_does_not() -> None:
    now = datetime(2031, 5, 4, 9, tzinfo=UTC)
    preferences = Preferences(
        channels={
            (NotificationKind.BOOKING_CONFIRMED, "email"): False,
            (NotificationKind.BOOKING_REQUEST_COUNTERED, "email"): False,
            (NotificationKind.BOOKING_REQUEST_COUNTERED, "sms"): False,
        }
    )
    assert channels_for(NotificationKind.BOOKING_CONFIRMED, preferences, now=now).channels == {"email", "sms", "in_app"}
    assert channels_for(NotificationKind.BOOKING_REQUEST_COUNTERED, preferences, now=now).channels == {"in_app"}


def test_a_window_crossing_midnight_ends_the_next_morning_or_the_same_morning() -> None:
    window = QuietHours(start=time(22), end=time(7), timezone="Europe/Lisbon")
    # 23:30 and 03:00 in Lisbon's summer time (UTC+1).
    assert window.held_until(datetime(2031, 6, 1, 22, 30, tzinfo=UTC)) == datetime(2031, 6, 2, 6, tzinfo=UTC)
    assert window.held_until(datetime(2031, 6, 2, 2, 0, tzinfo=UTC)) == datetime(2031, 6, 2, 6, tzinfo=UTC)
    assert window.held_until(datetime(2031, 6, 2, 6, 0, tzinfo=UTC)) is None
    assert window.held_until(datetime(2031, 6, 2, 12, 0, tzinfo=UTC)) is None


def test_the_night_the_clocks_go_forward_the_window_ends_at_seven_local_an_hour_sooner() -> None:
    # Lisbon goes from UTC+0 to UTC+1 at 01:00 UTC on 30 March 2031.
    window = QuietHours(start=time(22), end=time(7), timezone="Europe/Lisbon")
    held = window.held_until(datetime(2031, 3, 29, 23, 0, tzinfo=UTC))
    assert held == datetime(2031, 3, 30, 6, 0, tzinfo=UTC)
    assert held is not None
    assert held.astimezone(ZoneInfo("Europe/Lisbon")).time() == time(7)


def test_the_night_the_clocks_go_back_an_end_that_comes_twice_is_the_next_one() -> None:
    # New York goes from UTC-4 to UTC-5 at 06:00 UTC on 2 November 2031: 01:00-02:00 comes twice.
    window = QuietHours(start=time(0, 30), end=time(1, 30), timezone="America/New_York")
    assert window.held_until(datetime(2031, 11, 2, 5, 15, tzinfo=UTC)) == datetime(2031, 11, 2, 5, 30, tzinfo=UTC)
    assert window.held_until(datetime(2031, 11, 2, 6, 15, tzinfo=UTC)) == datetime(2031, 11, 2, 6, 30, tzinfo=UTC)


def test_quiet_hours_need_distinct_wall_clock_times_and_a_known_zone() -> None:
    with pytest.raises(InvalidInput):
        QuietHours(start=time(7), end=time(7), timezone="Europe/Lisbon")
    with pytest.raises(InvalidInput):
        QuietHours(start=time(22), end=time(7), timezone="Mars/Olympus")
    with pytest.raises(InvalidInput):
        QuietHours(start=time(22, tzinfo=UTC), end=time(7), timezone="Europe/Lisbon")


@given(window=_windows(ZONES), at=instants)
def test_an_sms_is_held_exactly_when_the_wall_clock_is_in_the_window_and_to_a_moment_outside_it(
    window: QuietHours, at: datetime
) -> None:
    held = window.held_until(at)
    assert (held is not None) == window.contains(at)
    if held is not None:
        assert at < held <= at + timedelta(hours=25)
        assert not window.contains(held)
        assert held.astimezone(window.zone).time() >= window.end


@given(window=_windows(FIXED_ZONES), at=instants)
def test_without_clock_changes_the_sms_is_held_no_longer_than_the_window_lasts(
    window: QuietHours, at: datetime
) -> None:
    held = window.held_until(at)
    if held is not None:
        assert window.contains(held - timedelta(minutes=1)) or held - timedelta(minutes=1) < at
        assert held.astimezone(window.zone).time() == window.end


@given(window=_windows(ZONES), at=instants)
def test_the_sms_due_time_is_now_outside_quiet_hours_and_their_end_inside(window: QuietHours, at: datetime) -> None:
    routing = channels_for(NotificationKind.BOOKING_CONFIRMED, Preferences(quiet_hours=window), now=at)
    assert routing.sms_due_at == (window.held_until(at) or at)
