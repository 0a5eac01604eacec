"""The reports' pure rules: a confirmed booking counts in exactly one outcome, whatever order its
events arrive in; rates are shares of what they divide; cancellations are told apart as the
contract says (a blackout is the provider's, an unpaid balance the traveler's); a day offers a
per-day capacity once, and each slot's own."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.occupancy.domain import SlotSeats, day_offered, occupancy
from services.analytics.outcomes.domain import (
    BookingOutcomeFacts,
    Ending,
    OutcomeCounts,
    Placement,
    cancellation_outcome,
    rate,
    service_date,
)
from shared.contracts.booking import UNPAID_BALANCE_REASON

PROVIDER, LISTING, OTHER_LISTING = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOON = datetime(2031, 5, 1, 12, tzinfo=UTC)
counts = st.integers(min_value=0, max_value=10_000)


def test_a_slot_counts_on_its_local_date_not_its_utc_one() -> None:
    late_evening = datetime(2031, 7, 1, 23, 30, tzinfo=UTC)
    assert service_date(late_evening, "Europe/Lisbon") == date(2031, 7, 2)
    assert service_date(late_evening, "America/New_York") == date(2031, 7, 1)


def test_cancellations_are_told_apart_as_booking_says_them() -> None:
    blackout = uuid.uuid4()
    assert cancellation_outcome(cancelled_by="provider", reason="x", blackout_id=blackout) == "blackout"
    assert cancellation_outcome(cancelled_by="provider", reason="boat broke", blackout_id=None) == (
        "cancelled_by_provider"
    )
    assert cancellation_outcome(cancelled_by="traveler", reason=UNPAID_BALANCE_REASON, blackout_id=None) == (
        "unpaid_balance"
    )
    assert cancellation_outcome(cancelled_by="traveler", reason="plans changed", blackout_id=None) == (
        "cancelled_by_traveler"
    )


def test_rates_are_none_with_nothing_to_divide_and_round_half_up_to_four_places() -> None:
    assert rate(0, 0) is None
    assert rate(1, 3) == Decimal("0.3333")
    assert rate(2, 3) == Decimal("0.6667")
    counted = OutcomeCounts(completed=3, no_shows=1, cancelled_by_traveler=2, unpaid_balance=1, blackouts=1, open=2)
    assert (counted.confirmed, counted.cancelled) == (10, 4)
    assert (counted.cancellation_rate, counted.traveler_cancellation_rate, counted.provider_cancellation_rate) == (
        Decimal("0.4"),
        Decimal("0.3"),
        Decimal("0.1"),
    )
    # No-shows out of the bookings whose slot came: open and cancelled ones do not dilute it.
    assert counted.no_show_rate == Decimal("0.25")
    assert OutcomeCounts(open=4).no_show_rate is None


@given(counts, counts, counts, counts, counts, counts, counts)
def test_every_confirmed_booking_is_in_one_outcome_and_every_rate_is_a_share(
    open_: int, completed: int, no_shows: int, traveler: int, unpaid: int, provider: int, blackouts: int
) -> None:
    counted = OutcomeCounts(open_, completed, no_shows, traveler, unpaid, provider, blackouts)
    assert counted.confirmed == counted.open + counted.completed + counted.no_shows + counted.cancelled
    assert counted.cancelled == counted.travelers_cancelled + counted.providers_cancelled
    for share in (
        counted.cancellation_rate,
        counted.traveler_cancellation_rate,
        counted.provider_cancellation_rate,
        counted.no_show_rate,
    ):
        assert share is None or Decimal(0) <= share <= Decimal(1)
    if counted.confirmed:
        assert counted.cancellation_rate is not None
        assert counted.traveler_cancellation_rate is not None
        assert counted.provider_cancellation_rate is not None
        # Each rate is rounded apart: the two sides add up to the whole within the rounding.
        assert abs(
            counted.traveler_cancellation_rate + counted.provider_cancellation_rate - counted.cancellation_rate
        ) <= Decimal("0.0001")
    else:
        assert counted.cancellation_rate is None


def _confirmed(facts: BookingOutcomeFacts) -> BookingOutcomeFacts:
    return facts.placed(Placement(PROVIDER, LISTING, date(2031, 6, 1), NOON)).was_confirmed()


def _moved(facts: BookingOutcomeFacts) -> BookingOutcomeFacts:
    return facts.placed(Placement(PROVIDER, OTHER_LISTING, date(2031, 6, 3), NOON + timedelta(days=1)))


def _cancelled(facts: BookingOutcomeFacts) -> BookingOutcomeFacts:
    at = NOON + timedelta(days=2)
    placed = facts.placed(Placement(PROVIDER, OTHER_LISTING, date(2031, 6, 3), at))
    return placed.ended(Ending("cancelled_by_traveler", at)).was_confirmed()


def _completed(facts: BookingOutcomeFacts) -> BookingOutcomeFacts:
    return facts.was_confirmed().ended(Ending("completed", NOON + timedelta(days=3)))


EVENTS = {"confirmed": _confirmed, "moved": _moved, "cancelled": _cancelled, "completed": _completed}


@given(st.lists(st.sampled_from(sorted(EVENTS)), min_size=1, max_size=8))
def test_a_bookings_facts_are_the_same_whatever_order_and_however_often_its_events_arrive(names: list[str]) -> None:
    """Any order of the same events, each maybe repeated, gives the facts the events in their own
    order give: the latest placement, the latest ending (both by the event's own time)."""
    once_in_order = BookingOutcomeFacts()
    for name in sorted(set(names), key=list(EVENTS).index):
        once_in_order = EVENTS[name](once_in_order)
    as_they_came = BookingOutcomeFacts()
    for name in names:
        as_they_came = EVENTS[name](as_they_came)
    assert as_they_came == once_in_order


def test_a_booking_counts_once_confirmed_and_placed_and_a_cancelled_unconfirmed_one_never() -> None:
    ended_first = _completed(BookingOutcomeFacts())
    assert ended_first.counted_as() is None  # not known where yet
    assert _confirmed(ended_first).counted_as() == (PROVIDER, LISTING, date(2031, 6, 1), "completed")
    unpaid_cancel = BookingOutcomeFacts().placed(Placement(PROVIDER, LISTING, date(2031, 6, 1), NOON))
    assert unpaid_cancel.ended(Ending("cancelled_by_traveler", NOON)).counted_as() is None


def test_occupancy_is_sold_over_offered_and_a_day_offers_its_shared_capacity_once() -> None:
    assert occupancy(3, 10) == Decimal("0.3")
    assert occupancy(2, 3) == Decimal("0.6667")
    assert occupancy(5, 0) is None
    assert occupancy(-1, 4) == Decimal(0)  # a return counted before its sale
    own = [SlotSeats(2, 10, False), SlotSeats(5, 5, False)]
    assert day_offered(own) == 15
    pooled = [SlotSeats(2, 6, True), SlotSeats(3, 6, True)]
    assert day_offered(pooled) == 6
    assert day_offered([]) == 0
