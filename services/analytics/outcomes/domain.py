"""How a confirmed booking ended, pure: the rules the cancellation and no-show report counts by.

Every booking booking confirmed counts once, on its service date (the local date its slot starts,
in the listing's time zone), to its provider and listing, in exactly one of these outcomes:

- open: nothing has happened to it yet (its slot is still to come, or the job that completes
  ended slots has not reached it);
- completed: its slot ended with it confirmed;
- no_show: its provider reported that the traveler did not turn up;
- cancelled_by_traveler, unpaid_balance: the traveler cancelled it, or booking did because its
  balance stayed unpaid (booking.cancelled says the traveler then; its reason tells them apart);
- cancelled_by_provider, blackout: the provider (or an admin for them) cancelled it, or a
  blackout of its date did.

A booking cancelled before it was confirmed (while unpaid) is not counted: it was never a sale.

Events may arrive twice or out of order (replays, and booking's events come on other partitions
than inventory's). So the facts merge commutatively: where the booking is (its listing and
service date) is taken from the latest event that says it (confirmed, modified, cancelled), and
its outcome from the latest event that ends it; any order of the same events gives the same facts.

The rates: a cancellation rate is cancelled / confirmed; the no-show rate is no-shows out of the
bookings whose slot came with them still booked (no-shows + completed), so bookings still open
and those cancelled do not dilute it. A rate with nothing to divide by is None.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.contracts.booking import UNPAID_BALANCE_REASON

Outcome = Literal[
    "open", "completed", "no_show", "cancelled_by_traveler", "unpaid_balance", "cancelled_by_provider", "blackout"
]
# The rollup's column each outcome counts in.
OUTCOME_COLUMNS: dict[Outcome, str] = {
    "open": "open",
    "completed": "completed",
    "no_show": "no_shows",
    "cancelled_by_traveler": "cancelled_by_traveler",
    "unpaid_balance": "unpaid_balance",
    "cancelled_by_provider": "cancelled_by_provider",
    "blackout": "blackouts",
}
# Two endings at the same instant (which booking's state machine never makes): the later in this
# order wins, so the merge still does not depend on the order they arrive in.
_PRECEDENCE: tuple[Outcome, ...] = tuple(OUTCOME_COLUMNS)
RATE_STEP = Decimal("0.0001")


def as_outcome(value: str) -> Outcome:
    """An outcome as stored: one of OUTCOME_COLUMNS' keys."""
    for outcome in OUTCOME_COLUMNS:
        if outcome == value:
            return outcome
    raise ValueError(f"not an outcome: {value!r}")


def service_date(starts_at: datetime, timezone: str) -> date:
    """The local date a slot starts on, in the listing's time zone."""
    return starts_at.astimezone(ZoneInfo(timezone)).date()


def cancellation_outcome(*, cancelled_by: str, reason: str, blackout_id: UUID | None) -> Outcome:
    if blackout_id is not None:
        return "blackout"
    if cancelled_by == "traveler":
        return "unpaid_balance" if reason == UNPAID_BALANCE_REASON else "cancelled_by_traveler"
    return "cancelled_by_provider"


@dataclass(frozen=True)
class Placement:
    """Where a booking counts: its provider, listing and service date, as of `at`."""

    provider_id: UUID
    listing_id: UUID
    service_date: date
    at: datetime


@dataclass(frozen=True)
class Ending:
    outcome: Outcome
    at: datetime


@dataclass(frozen=True)
class BookingOutcomeFacts:
    """What analytics knows of one booking so far."""

    placement: Placement | None = None
    confirmed: bool = False
    ending: Ending | None = None

    def placed(self, placement: Placement) -> "BookingOutcomeFacts":
        if self.placement is not None and placement.at < self.placement.at:
            return self
        if self.placement is not None and placement.at == self.placement.at:
            # The same instant said twice: keep one of them whatever the order, by value.
            placement = max(self.placement, placement, key=_placement_order)
        return replace(self, placement=placement)

    def ended(self, ending: Ending) -> "BookingOutcomeFacts":
        if self.ending is not None and (ending.at, _PRECEDENCE.index(ending.outcome)) <= (
            self.ending.at,
            _PRECEDENCE.index(self.ending.outcome),
        ):
            return self
        return replace(self, ending=ending)

    def was_confirmed(self) -> "BookingOutcomeFacts":
        return replace(self, confirmed=True)

    @property
    def outcome(self) -> Outcome:
        return "open" if self.ending is None else self.ending.outcome

    def counted_as(self) -> tuple[UUID, UUID, date, Outcome] | None:
        """(provider, listing, service date, outcome) it counts to; None while it is not counted
        (never confirmed, or not yet known where)."""
        if not self.confirmed or self.placement is None:
            return None
        where = self.placement
        return where.provider_id, where.listing_id, where.service_date, self.outcome


def _placement_order(placement: Placement) -> tuple[str, str, date]:
    return str(placement.provider_id), str(placement.listing_id), placement.service_date


def rate(part: int, whole: int) -> Decimal | None:
    """part / whole to four places (0.1234 is 12.34 %); None when whole is 0."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class OutcomeCounts:
    """A group's bookings by outcome, as the rollup counts them."""

    open: int = 0
    completed: int = 0
    no_shows: int = 0
    cancelled_by_traveler: int = 0
    unpaid_balance: int = 0
    cancelled_by_provider: int = 0
    blackouts: int = 0

    @property
    def confirmed(self) -> int:
        return (
            self.open
            + self.completed
            + self.no_shows
            + self.cancelled_by_traveler
            + self.unpaid_balance
            + self.cancelled_by_provider
            + self.blackouts
        )

    @property
    def travelers_cancelled(self) -> int:
        """Cancelled on the traveler's side: by them, or for their unpaid balance."""
        return self.cancelled_by_traveler + self.unpaid_balance

    @property
    def providers_cancelled(self) -> int:
        """Cancelled on the provider's side: by them, or by a blackout of the date."""
        return self.cancelled_by_provider + self.blackouts

    @property
    def cancelled(self) -> int:
        return self.travelers_cancelled + self.providers_cancelled

    @property
    def cancellation_rate(self) -> Decimal | None:
        return rate(self.cancelled, self.confirmed)

    @property
    def traveler_cancellation_rate(self) -> Decimal | None:
        return rate(self.travelers_cancelled, self.confirmed)

    @property
    def provider_cancellation_rate(self) -> Decimal | None:
        return rate(self.providers_cancelled, self.confirmed)

    @property
    def no_show_rate(self) -> Decimal | None:
        return rate(self.no_shows, self.no_shows + self.completed)
