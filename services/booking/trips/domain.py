"""Trips, pure rules: how an item is booked, what its booking status means, and the trip's status.

An item is booked the way what it links is booked: a slot of an instant listing instantly, of a
request-only listing by request, an affiliate partner's offer outside (external); an item an
expert added with nothing to book is the expert's (expert); anything else has nothing to book
(none). Only instant and request items are bookable at checkout, an expert's once the owner
approved it.

A trip is cancelled once its owner cancels or deletes it, completed after its last day, in
expert review while its handoff is open or an expert's item awaits approval, confirmed when it
has a bookable item and every one is booked and confirmed, and a draft otherwise.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

BookingMode = Literal["instant", "request", "external", "expert", "none"]
TripStatus = Literal["draft", "expert_review", "confirmed", "completed", "cancelled"]
ItemType = Literal["accommodation", "activity", "meal", "transport", "other"]

# The modes checkout books (through the cart): the others are booked elsewhere or not at all.
BOOKABLE_MODES: frozenset[str] = frozenset({"instant", "request"})
# An item's booking status before checkout, and the one an external item shows.
UNBOOKED = "unbooked"
EXTERNAL = "external"
# Booking statuses in which what the item booked is confirmed (and took place, or will).
CONFIRMED_STATUSES: frozenset[str] = frozenset({"confirmed", "completed"})
# A handoff the expert is still working on, or whose work the owner has not yet approved.
OPEN_HANDOFF_STATUSES: frozenset[str] = frozenset({"requested", "accepted", "completed"})


def booking_mode(*, listing_mode: str | None, affiliate_partner: str | None, added_by_expert: bool) -> BookingMode:
    """How an item is booked, from the booking mode of the listing its slot belongs to (None
    without a slot), its affiliate partner, and who added it."""
    if listing_mode == "instant":
        return "instant"
    if listing_mode == "request":
        return "request"
    if affiliate_partner is not None:
        return "external"
    if added_by_expert:
        return "expert"
    return "none"


@dataclass(frozen=True)
class ItemState:
    """What the trip's status reads of one item."""

    booking_mode: str
    booking_status: str
    # An expert's item the owner has not approved yet.
    awaiting_approval: bool


def is_checkout_ready(item: ItemState) -> bool:
    """Whether checkout puts the item in the cart: bookable, not booked yet, approved."""
    return item.booking_mode in BOOKABLE_MODES and item.booking_status == UNBOOKED and not item.awaiting_approval


def trip_status(
    *,
    cancelled: bool,
    end_date: date,
    today: date,
    handoff_statuses: Iterable[str],
    items: Iterable[ItemState],
) -> TripStatus:
    """The trip's status (see the module's docstring); `today` is the date in the trip's zone."""
    if cancelled:
        return "cancelled"
    if today > end_date:
        return "completed"
    states = list(items)
    if any(status in OPEN_HANDOFF_STATUSES for status in handoff_statuses) or any(
        item.awaiting_approval for item in states
    ):
        return "expert_review"
    bookable = [item for item in states if item.booking_mode in BOOKABLE_MODES]
    if bookable and all(item.booking_status in CONFIRMED_STATUSES for item in bookable):
        return "confirmed"
    return "draft"


def day_of(start_date: date, on: date) -> int:
    """The trip day (from 1) `on` falls on."""
    return (on - start_date).days + 1


def days_in(start_date: date, end_date: date) -> int:
    return (end_date - start_date).days + 1


@dataclass(frozen=True)
class Placement:
    """Where an item sits on its trip: its day, its local start time and how long it lasts."""

    day: int
    start_time: time
    duration_minutes: int


def placement_of_booking(
    *, start_date: date, end_date: date, zone: ZoneInfo, starts_at: datetime, ends_at: datetime
) -> Placement | None:
    """Where a booked item belongs: the day and local time its booking starts (moved with the
    booking when it is modified), for as long as it lasts; None when the booking falls outside
    the trip's days, where the item keeps the place its owner gave it."""
    local_start = starts_at.astimezone(zone)
    if not start_date <= local_start.date() <= end_date:
        return None
    return Placement(
        day=day_of(start_date, local_start.date()),
        start_time=local_start.time().replace(tzinfo=None),
        duration_minutes=max(int((ends_at - starts_at).total_seconds() // 60), 0),
    )
