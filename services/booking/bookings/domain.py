"""Booking rules, pure: the statuses, the transitions allowed between them, references, the
largest party a listing takes."""

import secrets
from typing import Literal, Protocol
from uuid import UUID

from shared.errors import Conflict, InvalidInput
from shared.identity import Identity

Status = Literal[
    "pending_payment", "confirmed", "completed", "cancelled", "expired", "payment_failed", "refunded", "no_show"
]

# The only moves a booking can make; anything else is 409 INVALID_TRANSITION.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("pending_payment", "confirmed"),
        ("pending_payment", "payment_failed"),
        ("pending_payment", "expired"),
        ("pending_payment", "cancelled"),
        # A payment that lands after the hold lapsed, or after a failed attempt on the same
        # intent: confirmed if the seats are still free, else cancelled and refunded.
        ("expired", "confirmed"),
        ("expired", "cancelled"),
        ("payment_failed", "confirmed"),
        ("payment_failed", "cancelled"),
        ("confirmed", "completed"),
        ("confirmed", "cancelled"),
        ("confirmed", "no_show"),
        ("cancelled", "refunded"),
    }
)


def check_transition(current: str, target: str) -> None:
    if (current, target) not in TRANSITIONS:
        raise Conflict(
            f"A booking cannot go from {current} to {target}.",
            error_code="INVALID_TRANSITION",
            details={"from": current, "to": target},
        )


# No 0/O, 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(year: int) -> str:
    return f"TRV-{year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class Parties(Protocol):
    """What the rules of who sees what read of a booking or a request: whose it is."""

    @property
    def traveler_id(self) -> UUID: ...

    @property
    def provider_id(self) -> UUID: ...


def may_see(booking: Parties, viewer: Identity) -> bool:
    """A booking is its traveler's and its provider's to see, and ops'."""
    return viewer.is_admin or viewer.user_id in (booking.traveler_id, booking.provider_id)


def pays(booking: Parties, viewer: Identity | None) -> bool:
    """Whether `viewer` is the traveler who pays the booking, the only one shown its client secret."""
    return viewer is not None and viewer.user_id == booking.traveler_id


def check_party_size(seats: int, *, max_party_size: int) -> None:
    """422 PARTY_TOO_LARGE for a party above the listing's fair-use limit (inventory's
    `max_party_size`), the same answer inventory gives a hold."""
    if seats > max_party_size:
        raise InvalidInput(
            f"This listing takes parties of at most {max_party_size}.",
            error_code="PARTY_TOO_LARGE",
            details={"max_party_size": max_party_size, "requested": seats},
        )
