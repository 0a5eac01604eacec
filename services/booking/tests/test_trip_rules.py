"""The trip status rule and how an item is booked, as pure rules: properties over any trip."""

from datetime import UTC, date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.booking.trips.domain import (
    BOOKABLE_MODES,
    CONFIRMED_STATUSES,
    OPEN_HANDOFF_STATUSES,
    ItemState,
    booking_mode,
    is_checkout_ready,
    placement_of_booking,
    trip_status,
)

MODES = ["instant", "request", "external", "expert", "none"]
BOOKING_STATUSES = [
    "unbooked",
    "external",
    "requested",
    "countered",
    "accepted",
    "declined",
    "pending_payment",
    "confirmed",
    "completed",
    "cancelled",
    "expired",
    "payment_failed",
]
HANDOFF_STATUSES = ["requested", "accepted", "completed", "approved", "declined", "cancelled"]
END = date(2031, 6, 4)

items_st = st.lists(
    st.builds(
        ItemState,
        booking_mode=st.sampled_from(MODES),
        booking_status=st.sampled_from(BOOKING_STATUSES),
        awaiting_approval=st.booleans(),
    ),
    max_size=12,
)
handoffs_st = st.lists(st.sampled_from(HANDOFF_STATUSES), max_size=3)
today_st = st.integers(min_value=-30, max_value=30).map(lambda days: END + timedelta(days=days))
not_bookable_st = st.builds(
    ItemState,
    booking_mode=st.sampled_from(["external", "expert", "none"]),
    booking_status=st.sampled_from(BOOKING_STATUSES),
    awaiting_approval=st.just(False),
)


@given(items_st, handoffs_st, today_st)
def test_a_cancelled_trip_is_cancelled_whatever_its_items_and_dates(
    items: list[ItemState], handoffs: list[str], today: date
) -> None:
    assert trip_status(cancelled=True, end_date=END, today=today, handoff_statuses=handoffs, items=items) == "cancelled"


@given(items_st, handoffs_st, st.integers(min_value=1, max_value=400))
def test_a_trip_past_its_last_day_is_completed(items: list[ItemState], handoffs: list[str], days_after: int) -> None:
    today = END + timedelta(days=days_after)
    assert (
        trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=handoffs, items=items) == "completed"
    )


@given(items_st, handoffs_st, today_st)
def test_an_open_handoff_or_an_item_awaiting_approval_puts_the_trip_in_expert_review(
    items: list[ItemState], handoffs: list[str], today: date
) -> None:
    status = trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=handoffs, items=items)
    in_review = any(h in OPEN_HANDOFF_STATUSES for h in handoffs) or any(item.awaiting_approval for item in items)
    if today <= END:
        assert (status == "expert_review") == in_review


@given(items_st, handoffs_st, today_st)
def test_confirmed_means_a_bookable_item_and_every_bookable_item_confirmed(
    items: list[ItemState], handoffs: list[str], today: date
) -> None:
    status = trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=handoffs, items=items)
    bookable = [item for item in items if item.booking_mode in BOOKABLE_MODES]
    if status == "confirmed":
        assert bookable
        assert all(item.booking_status in CONFIRMED_STATUSES for item in bookable)
        assert today <= END
        assert not any(item.awaiting_approval for item in items)
    if status == "draft":
        assert not bookable or not all(item.booking_status in CONFIRMED_STATUSES for item in bookable)


@given(items_st, st.lists(not_bookable_st, max_size=6), handoffs_st, today_st, st.randoms())
def test_items_with_nothing_to_book_and_the_order_of_items_never_change_the_status(
    items: list[ItemState], extra: list[ItemState], handoffs: list[str], today: date, random: Random
) -> None:
    before = trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=handoffs, items=items)
    shuffled = items + extra
    random.shuffle(shuffled)
    after = trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=handoffs, items=shuffled)
    assert after == before


@given(st.lists(st.sampled_from(sorted(CONFIRMED_STATUSES)), min_size=1, max_size=6), today_st)
def test_a_trip_whose_bookings_are_all_confirmed_and_reviewed_is_confirmed_until_it_ends(
    statuses: list[str], today: date
) -> None:
    items = [ItemState(booking_mode="instant", booking_status=status, awaiting_approval=False) for status in statuses]
    status = trip_status(cancelled=False, end_date=END, today=today, handoff_statuses=["approved"], items=items)
    assert status == ("confirmed" if today <= END else "completed")


@given(st.sampled_from(["instant", "request"]), st.sampled_from(BOOKING_STATUSES))
def test_one_bookable_item_not_confirmed_keeps_a_trip_from_being_confirmed(mode: str, booking_status: str) -> None:
    confirmed = ItemState(booking_mode="instant", booking_status="confirmed", awaiting_approval=False)
    other = ItemState(booking_mode=mode, booking_status=booking_status, awaiting_approval=False)
    status = trip_status(cancelled=False, end_date=END, today=END, handoff_statuses=[], items=[confirmed, other])
    assert status == ("confirmed" if booking_status in CONFIRMED_STATUSES else "draft")


@given(st.sampled_from([None, "instant", "request", "external"]), st.sampled_from([None, "booking_com"]), st.booleans())
def test_an_item_is_booked_as_its_slot_then_its_partner_then_its_expert(
    listing_mode: str | None, partner: str | None, by_expert: bool
) -> None:
    mode = booking_mode(listing_mode=listing_mode, affiliate_partner=partner, added_by_expert=by_expert)
    if listing_mode in ("instant", "request"):
        assert mode == listing_mode
    elif partner is not None:
        assert mode == "external"
    else:
        assert mode == ("expert" if by_expert else "none")


@given(st.sampled_from(MODES), st.sampled_from(BOOKING_STATUSES), st.booleans())
def test_checkout_takes_only_unbooked_bookable_approved_items(mode: str, status: str, awaiting: bool) -> None:
    ready = is_checkout_ready(ItemState(booking_mode=mode, booking_status=status, awaiting_approval=awaiting))
    assert ready == (mode in BOOKABLE_MODES and status == "unbooked" and not awaiting)


@given(
    start=st.dates(min_value=date(2030, 1, 1), max_value=date(2035, 1, 1)),
    length=st.integers(min_value=0, max_value=20),
    offset_minutes=st.integers(min_value=-3 * 24 * 60, max_value=25 * 24 * 60),
    duration=st.integers(min_value=0, max_value=3 * 24 * 60),
    zone=st.sampled_from(["Europe/Lisbon", "America/New_York", "Asia/Kathmandu", "Pacific/Auckland", "UTC"]),
)
def test_a_booked_item_sits_on_the_day_and_local_time_its_booking_starts_or_keeps_its_place_outside_the_trip(
    start: date, length: int, offset_minutes: int, duration: int, zone: str
) -> None:
    tz = ZoneInfo(zone)
    end = start + timedelta(days=length)
    starts_at = (datetime.combine(start, time(0), tzinfo=tz) + timedelta(minutes=offset_minutes)).astimezone(UTC)

    placement = placement_of_booking(
        start_date=start, end_date=end, zone=tz, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=duration)
    )

    local = starts_at.astimezone(tz)
    if not start <= local.date() <= end:
        assert placement is None
        return
    assert placement is not None
    assert start + timedelta(days=placement.day - 1) == local.date()
    assert 1 <= placement.day <= length + 1
    assert placement.start_time == local.time().replace(tzinfo=None)
    assert placement.duration_minutes == duration
