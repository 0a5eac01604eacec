"""The conversion funnel's rules: the rate between two steps and the percentiles of response times.

Each step counts on the UTC day it happened, so a rate compares the steps of one period, not the
journeys of one cohort: a hold on the 31st booked on the 1st counts to two months, and a rate over
a short period may exceed 1. A rate with nothing before it is None, not 0."""

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from math import floor

RATE_PLACES = Decimal("0.0001")
MEDIAN, P90 = 0.5, 0.9


def rate(later: int, earlier: int) -> Decimal | None:
    """`later` as a share of `earlier`, to four places; None when `earlier` is 0."""
    if earlier <= 0:
        return None
    return (Decimal(later) / Decimal(earlier)).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The continuous percentile, as PostgreSQL's `percentile_cont` computes it: linear
    interpolation between the two closest ranks, so the median of an even count is the mean of
    the middle two. None for no values."""
    if not values:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError(f"a percentile's fraction is between 0 and 1, not {fraction}")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
