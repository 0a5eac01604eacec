"""Occupancy, pure: seats sold out of seats offered.

A slot's seats sold are what inventory confirmed on it less what it gave back (each sale and
return counted once, in any order). Seats offered are the capacity the slot sells from, as the
latest sale or return said it: the slot's own, or, for a listing whose capacity is per day, its
date's, which every slot of the day shares (so a day offers it once, not once per slot).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

RATE_STEP = Decimal("0.0001")


def occupancy(sold: int, offered: int) -> Decimal | None:
    """sold / offered to four places (0.75 is 75 %); None when nothing was offered."""
    if offered <= 0:
        return None
    return (Decimal(max(sold, 0)) / Decimal(offered)).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SlotSeats:
    """One slot as analytics knows it: seats sold, and the capacity it sells from."""

    sold: int
    capacity: int
    capacity_per_day: bool


def day_offered(slots: list[SlotSeats]) -> int:
    """The seats a day offered: the slots' own capacities, plus the day's shared capacity once."""
    own = sum(slot.capacity for slot in slots if not slot.capacity_per_day)
    shared = max((slot.capacity for slot in slots if slot.capacity_per_day), default=0)
    return own + shared
