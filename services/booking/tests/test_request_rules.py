"""The rules of booking requests, pure: which answers move a request where, who gives each,
and which notice an unanswered request's provider is due."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.booking.requests.domain import (
    ACTIONS,
    OPEN,
    STATUSES,
    TAKEN_BY,
    TRANSITIONS,
    Action,
    Deadlines,
    hold_id_for,
    next_status,
    side_of,
)
from services.booking.requests.models import BookingRequest
from shared.errors import Conflict
from shared.testing import make_identity

DEADLINES = Deadlines(
    answer=timedelta(hours=48),
    reminder_after=timedelta(hours=24),
    last_warning_after=timedelta(hours=46),
    counter_answer=timedelta(hours=48),
)


@given(st.sampled_from(STATUSES), st.sampled_from(ACTIONS))
def test_every_answer_either_follows_the_table_or_is_an_invalid_transition(status: str, action: Action) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) == TRANSITIONS[(status, action)]  # type: ignore[index]
        return
    with pytest.raises(Conflict) as refused:
        next_status(status, action)
    assert refused.value.error_code == "INVALID_TRANSITION"
    assert refused.value.details == {"from": status, "action": action}


@given(st.lists(st.sampled_from(ACTIONS), max_size=8))
def test_a_request_is_answered_at_most_twice_and_stays_closed(actions: list[Action]) -> None:
    """Whatever is tried in whatever order: a request closes after at most a counter-offer
    and its answer, and nothing moves it once closed."""
    status: str = "pending_provider"
    moves = 0
    for action in actions:
        try:
            following = next_status(status, action)
        except Conflict:
            continue
        assert status in OPEN, "only open requests move"
        status, moves = following, moves + 1
    assert moves <= 2
    assert (status in OPEN) == (moves == 0 or status == "countered")


def test_the_provider_answers_the_traveler_accepts_a_counter_and_the_clock_expires() -> None:
    assert {action for (status, action) in TRANSITIONS if status == "pending_provider"} == {
        "accept",
        "decline",
        "counter",
        "expire",
        "cancel",
    }
    assert {action for (status, action) in TRANSITIONS if status == "countered"} == {
        "accept_counter",
        "lapse_counter",
        "cancel",
    }
    assert {action for action, side in TAKEN_BY.items() if side == "provider"} == {"accept", "decline", "counter"}
    assert {action for action, side in TAKEN_BY.items() if side == "traveler"} == {"accept_counter", "cancel"}
    assert {move for move, target in TRANSITIONS.items() if target == "accepted"} == {
        ("pending_provider", "accept"),
        ("countered", "accept_counter"),
    }


def test_only_the_traveler_and_the_provider_see_a_request_and_ops_act_as_the_provider() -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    request = BookingRequest(traveler_id=traveler.user_id, provider_id=provider.user_id)
    assert side_of(request, traveler) == "traveler"
    assert side_of(request, provider) == "provider"
    assert side_of(request, make_identity("admin")) == "provider"
    assert side_of(request, make_identity("provider")) is None


def test_each_answer_of_a_request_holds_its_own_seats_and_a_retry_the_same() -> None:
    request_id = uuid.uuid4()
    assert hold_id_for(request_id, "accept") == hold_id_for(request_id, "accept")
    assert hold_id_for(request_id, "accept") != hold_id_for(request_id, "accept_counter")
    assert hold_id_for(request_id, "accept") != hold_id_for(uuid.uuid4(), "accept")


@given(st.integers(min_value=0, max_value=60 * 60 * 60))
def test_the_provider_is_reminded_after_a_day_and_warned_two_hours_before_the_deadline(elapsed: int) -> None:
    requested_at = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
    now = requested_at + timedelta(seconds=elapsed)
    due = DEADLINES.notice_due(requested_at=requested_at, expires_at=requested_at + DEADLINES.answer, now=now)
    hours = elapsed / 3600
    if hours < 24 or hours >= 48:
        assert due is None
    elif hours < 46:
        assert due == "reminder"
    else:
        assert due == "last_warning"


def test_deadlines_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="before the deadline"):
        Deadlines(
            answer=timedelta(hours=48),
            reminder_after=timedelta(hours=47),
            last_warning_after=timedelta(hours=46),
            counter_answer=timedelta(hours=48),
        )
