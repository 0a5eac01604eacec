"""The retry schedule: every wait is within its ceiling, the ceilings grow from the base to the
cap and stay there, and a delivery is given up only once it has been failing for the whole
window, however the jitter falls."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notification.notifications.domain import RetrySchedule

QUEUED_AT = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


@st.composite
def schedules(draw: st.DrawFn) -> RetrySchedule:
    base = timedelta(seconds=draw(st.floats(min_value=0.5, max_value=120)))
    cap = base * draw(st.floats(min_value=1, max_value=200))
    # A window of up to a few hundred capped waits keeps a simulated run of retries short.
    max_age = cap * draw(st.floats(min_value=0.01, max_value=300))
    return RetrySchedule(base=base, cap=cap, max_age=max_age)


@given(schedules(), st.integers(min_value=1, max_value=10_000), st.randoms(use_true_random=False))
def test_every_wait_is_between_zero_and_its_ceiling_within_base_and_cap(
    schedule: RetrySchedule, attempts: int, rng: random.Random
) -> None:
    ceiling = schedule.ceiling(attempts)
    assert schedule.base <= ceiling <= schedule.cap
    assert timedelta(0) <= schedule.delay(attempts, rng) <= ceiling


@given(schedules())
def test_the_ceiling_doubles_from_the_base_until_it_is_capped(schedule: RetrySchedule) -> None:
    ceilings = [schedule.ceiling(attempts) for attempts in range(1, 40)]
    assert ceilings[0] == schedule.base
    for before, after in itertools.pairwise(ceilings):
        assert after == min(before * 2, schedule.cap)
    assert ceilings[-1] == schedule.cap


@settings(deadline=None)
@given(schedules(), st.integers(min_value=0, max_value=2**32))
def test_a_delivery_is_given_up_only_after_failing_for_the_whole_window(schedule: RetrySchedule, seed: int) -> None:
    rng = random.Random(seed)  # the jitter of a whole run of retries, drawn as the worker draws it
    failed_at, attempts = QUEUED_AT, 1
    while not schedule.gives_up(queued_at=QUEUED_AT, failed_at=failed_at):
        failed_at += schedule.delay(attempts, rng)
        attempts += 1
        assert attempts < 1_000_000
    assert failed_at - QUEUED_AT >= schedule.max_age


def test_the_default_schedule_retries_within_30_seconds_then_up_to_every_30_minutes_for_a_day() -> None:
    schedule = RetrySchedule()
    assert schedule.ceiling(1) == timedelta(seconds=30)
    assert schedule.ceiling(100) == timedelta(minutes=30)
    assert not schedule.gives_up(queued_at=QUEUED_AT, failed_at=QUEUED_AT + timedelta(hours=23, minutes=59))
    assert schedule.gives_up(queued_at=QUEUED_AT, failed_at=QUEUED_AT + timedelta(hours=24))


def test_a_schedule_needs_a_positive_base_no_larger_than_its_cap() -> None:
    with pytest.raises(ValueError, match="base"):
        RetrySchedule(base=timedelta(minutes=5), cap=timedelta(minutes=1))
