"""Expert-assisted trips, pure rules: how a handoff moves and who moves it, the expert's fee,
and whether an expert may book for a traveler.

A handoff is requested by a traveler, accepted (or declined) by the expert, worked on while
accepted, completed by the expert and approved by the traveler; the traveler may cancel it
until it is approved. An expert books on a traveler's behalf only with the personal-assistant
privilege and a live grant from that traveler whose spending limit the booking fits.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from shared.errors import Conflict
from shared.money import money

HandoffStatus = Literal["requested", "accepted", "completed", "approved", "declined", "cancelled"]
Party = Literal["traveler", "expert"]
HandoffAction = Literal["accept", "decline", "complete", "approve", "cancel"]

# The only moves a handoff can make; anything else is 409 INVALID_TRANSITION.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("requested", "accepted"),
        ("requested", "declined"),
        ("requested", "cancelled"),
        ("accepted", "completed"),
        ("accepted", "cancelled"),
        ("completed", "approved"),
        ("completed", "cancelled"),
    }
)

# Each action: the party who takes it and the status it moves the handoff to.
ACTIONS: dict[HandoffAction, tuple[Party, HandoffStatus]] = {
    "accept": ("expert", "accepted"),
    "decline": ("expert", "declined"),
    "complete": ("expert", "completed"),
    "approve": ("traveler", "approved"),
    "cancel": ("traveler", "cancelled"),
}

# The expert edits the trip's items while working on it.
EDITABLE: frozenset[str] = frozenset({"accepted"})
# Booking for the traveler is part of the work once accepted, and of carrying out what the
# traveler approved.
BOOKABLE: frozenset[str] = frozenset({"accepted", "completed", "approved"})


def check_transition(current: str, target: str) -> None:
    if (current, target) not in TRANSITIONS:
        raise Conflict(
            f"A handoff cannot go from {current} to {target}.",
            error_code="INVALID_TRANSITION",
            details={"from": current, "to": target},
        )


def expert_fee(total: Decimal, fee_percentage: Decimal, currency: str) -> Decimal:
    """The expert's share of a booking made through a handoff, to the currency's smallest step."""
    return money(total * fee_percentage / 100, currency)


@dataclass(frozen=True)
class GrantTerms:
    """What a traveler's grant allows: up to `spending_limit` (in `currency`) in total, until
    `expires_at`, unless revoked."""

    spending_limit: Decimal | None
    currency: str | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Charge:
    amount: Decimal
    currency: str


Refusal = Literal[
    "NOT_PERSONAL_ASSISTANT",
    "NO_GRANT",
    "GRANT_REVOKED",
    "GRANT_EXPIRED",
    "GRANT_CURRENCY_MISMATCH",
    "GRANT_LIMIT_EXCEEDED",
]


def refusal_to_book(
    *, personal_assistant: bool, grant: GrantTerms | None, now: datetime, charge: Charge | None, spent: Decimal
) -> Refusal | None:
    """Why an expert may not book for the traveler, or None when they may. `charge` is None
    before the price is known; `spent` is what the grant's bookings already take of its limit."""
    if not personal_assistant:
        return "NOT_PERSONAL_ASSISTANT"
    if grant is None:
        return "NO_GRANT"
    if grant.revoked_at is not None:
        return "GRANT_REVOKED"
    if grant.expires_at is not None and now >= grant.expires_at:
        return "GRANT_EXPIRED"
    if grant.spending_limit is None or charge is None:
        return None
    if charge.currency != grant.currency:
        return "GRANT_CURRENCY_MISMATCH"
    if spent + charge.amount > grant.spending_limit:
        return "GRANT_LIMIT_EXCEEDED"
    return None
