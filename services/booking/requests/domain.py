"""Booking request rules, pure: the statuses, the actions that move a request between them,
and who may take each action.

A request waits for its provider (`pending_provider`), who accepts it (the traveler then pays
a booking), declines it, or counter-offers; a counter-offer waits for the traveler, who
accepts it or lets it lapse. A provider who does not answer in time has declined: `expired`.
The traveler may withdraw a request while it is open.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from services.booking.bookings.domain import Parties
from shared.errors import Conflict
from shared.identity import Identity

Status = Literal["pending_provider", "accepted", "declined", "countered", "expired", "counter_lapsed", "cancelled"]
Action = Literal["accept", "decline", "counter", "accept_counter", "expire", "lapse_counter", "cancel"]
Side = Literal["traveler", "provider", "system"]

STATUSES: tuple[Status, ...] = get_args(Status)
ACTIONS: tuple[Action, ...] = get_args(Action)

# The only moves a request can make; anything else is 409 INVALID_TRANSITION.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    ("pending_provider", "accept"): "accepted",
    ("pending_provider", "decline"): "declined",
    ("pending_provider", "counter"): "countered",
    ("pending_provider", "expire"): "expired",
    ("pending_provider", "cancel"): "cancelled",
    ("countered", "accept_counter"): "accepted",
    ("countered", "lapse_counter"): "counter_lapsed",
    ("countered", "cancel"): "cancelled",
}

# Who takes each action: the provider answers, the traveler answers a counter-offer or
# withdraws, the platform lets time run out.
TAKEN_BY: dict[Action, Side] = {
    "accept": "provider",
    "decline": "provider",
    "counter": "provider",
    "accept_counter": "traveler",
    "cancel": "traveler",
    "expire": "system",
    "lapse_counter": "system",
}

OPEN: frozenset[Status] = frozenset({"pending_provider", "countered"})

# The hold an answer places is named after the request and the answer, so a retried answer
# finds the hold it placed instead of taking the seats twice.
REQUEST_HOLDS = uuid5(NAMESPACE_URL, "https://travel.example/booking-requests/holds")


def next_status(current: str, action: Action) -> Status:
    """Where `action` takes a request in `current`; 409 INVALID_TRANSITION if it cannot."""
    for (start, taken), target in TRANSITIONS.items():
        if (start, taken) == (current, action):
            return target
    raise Conflict(
        f"This request is {current}; {action.replace('_', ' ')} is not possible now.",
        error_code="INVALID_TRANSITION",
        details={"from": current, "action": action},
    )


def side_of(request: Parties, viewer: Identity) -> Side | None:
    """The viewer's part in the request, or None if it is not theirs to see. Ops act as the
    provider would."""
    if viewer.user_id == request.traveler_id:
        return "traveler"
    if viewer.user_id == request.provider_id or viewer.is_admin:
        return "provider"
    return None


def hold_id_for(request_id: UUID, action: Action) -> UUID:
    return uuid5(REQUEST_HOLDS, f"{request_id}:{action}")


Notice = Literal["reminder", "last_warning"]


@dataclass(frozen=True)
class Deadlines:
    """How long each side has to answer, and when the provider is reminded."""

    answer: timedelta
    reminder_after: timedelta
    last_warning_after: timedelta
    counter_answer: timedelta

    def __post_init__(self) -> None:
        if not timedelta(0) < self.reminder_after < self.last_warning_after < self.answer:
            raise ValueError("the reminder comes before the last warning, which comes before the deadline")

    def notice_due(self, *, requested_at: datetime, expires_at: datetime, now: datetime) -> Notice | None:
        """Which notice an unanswered request's provider should have had by now: none once it
        has expired, and the last warning rather than the first reminder once both are due."""
        if now >= expires_at:
            return None
        if now >= requested_at + self.last_warning_after:
            return "last_warning"
        if now >= requested_at + self.reminder_after:
            return "reminder"
        return None
