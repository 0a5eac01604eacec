"""The funnel's pure rules: a rate between two steps (None with nothing before it, four places,
half to even) and the continuous percentile that response times are reported with, which is
the median of statistics and the inclusive quantiles (PostgreSQL's percentile_cont)."""

import itertools
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analytics.funnel.domain import percentile, rate


def test_a_rate_with_nothing_before_it_is_none_not_zero() -> None:
    assert rate(0, 0) is None
    assert rate(3, 0) is None
    assert rate(0, 5) == Decimal("0.0000")


def test_a_rate_is_kept_to_four_places_rounding_half_to_even() -> None:
    assert rate(8, 85) == Decimal("0.0941")
    assert rate(1, 3) == Decimal("0.3333")
    assert rate(2, 3) == Decimal("0.6667")
    assert rate(1, 20000 * 8) == Decimal("0.0000")  # 0.00000625
    assert rate(3, 2) == Decimal("1.5000"), "steps of one period may outnumber the step before"


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert percentile([3600, 600, 7200, 1800], 0.5) == 2700
    assert percentile([600, 1800, 3600, 7200], 0.9) == pytest.approx(6120)
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([], 0.5) is None


def test_a_fraction_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


seconds = st.lists(st.integers(min_value=0, max_value=10**7).map(float), min_size=2, max_size=60)


@given(seconds)
def test_the_median_is_statistics_median(values: list[float]) -> None:
    assert percentile(values, 0.5) == pytest.approx(statistics.median(values))


@given(seconds)
def test_each_decile_is_the_inclusive_quantile_and_they_never_decrease(values: list[float]) -> None:
    deciles = [percentile(values, step / 10) for step in range(1, 10)]
    expected = statistics.quantiles(values, n=10, method="inclusive")
    assert deciles == pytest.approx(expected)
    assert all(low is not None and high is not None and low <= high for low, high in itertools.pairwise(deciles))
    assert percentile(values, 0) == min(values)
    assert percentile(values, 1) == max(values)
