"""Demand forecasts: the model beats the seasonal-naive baseline on a seasonal series it has
not seen, its 80 % interval holds about 80 % of the held-out days, and short histories fall
back to the seasonal-naive forecast, saying so."""

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.forecasts.domain import (
    MODEL_MIN_HISTORY_DAYS,
    SEASON_DAYS,
    ForecastModel,
    forecast_demand,
    seasonal_naive,
)

FIRST_DAY = date(2026, 1, 5)


def _seasonal_series(days: int, seed: int) -> list[float]:
    """Seats booked a day: a weekly pattern (busy weekends) on a slow rise, with noise."""
    rng = np.random.default_rng(seed)
    weekday = np.array([8.0, 7.0, 7.5, 9.0, 14.0, 22.0, 18.0])
    trend = 0.04 * np.arange(days)
    noise = rng.normal(0, 2.5, days)
    return list(np.maximum(weekday[np.arange(days) % SEASON_DAYS] + trend + noise, 0.0))


def _mase(actual: list[float], predicted: list[float], history: list[float]) -> float:
    """Mean absolute error scaled by the in-sample error of last week's same weekday."""
    scale = float(np.mean([abs(history[day] - history[day - SEASON_DAYS]) for day in range(SEASON_DAYS, len(history))]))
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted)))) / scale


def test_the_model_beats_seasonal_naive_and_its_interval_holds_about_its_level_on_held_out_days() -> None:
    horizon, origins = 14, 5
    model_errors, naive_errors, inside, total = [], [], 0, 0
    for seed in range(2):
        series = _seasonal_series(26 * SEASON_DAYS + horizon * origins, seed)
        for origin in range(origins):
            end = 26 * SEASON_DAYS + origin * horizon
            history, actual = series[:end], series[end : end + horizon]
            forecast = forecast_demand(history, first_day=FIRST_DAY, horizon=horizon)
            assert forecast.model is ForecastModel.ETS
            naive, _, _ = seasonal_naive(history, horizon=horizon)
            model_errors.append(_mase(actual, [day.expected for day in forecast.days], history))
            naive_errors.append(_mase(actual, naive, history))
            inside += sum(day.lower <= value <= day.upper for day, value in zip(forecast.days, actual, strict=True))
            total += horizon
    model_mase, naive_mase, coverage = float(np.mean(model_errors)), float(np.mean(naive_errors)), inside / total
    print(f"MASE model {model_mase:.3f}, seasonal naive {naive_mase:.3f}; 80 % interval coverage {coverage:.1%}")
    assert model_mase < 0.85 * naive_mase
    assert 0.70 <= coverage <= 0.90


def test_a_history_shorter_than_the_model_needs_gets_the_seasonal_naive_forecast_and_says_so() -> None:
    history = _seasonal_series(MODEL_MIN_HISTORY_DAYS - 1, seed=7)
    forecast = forecast_demand(history, first_day=FIRST_DAY, horizon=9)
    assert (forecast.model, forecast.history_days) == (ForecastModel.SEASONAL_NAIVE, MODEL_MIN_HISTORY_DAYS - 1)
    last_week = history[-SEASON_DAYS:]
    assert [day.expected for day in forecast.days] == [max(last_week[ahead % SEASON_DAYS], 0.0) for ahead in range(9)]
    assert forecast.days[0].day == FIRST_DAY + timedelta(days=len(history))
    widths = [day.upper - day.expected for day in forecast.days]
    assert widths[SEASON_DAYS] > widths[0], "a second week ahead is less certain than the first"


def test_a_listing_without_history_is_forecast_at_zero() -> None:
    forecast = forecast_demand([], first_day=FIRST_DAY, horizon=3)
    assert [(day.expected, day.lower, day.upper) for day in forecast.days] == [(0.0, 0.0, 0.0)] * 3
    assert forecast.history_days == 0


@settings(max_examples=25, deadline=None)
@given(
    history=st.lists(st.integers(min_value=0, max_value=500).map(float), max_size=MODEL_MIN_HISTORY_DAYS + 20),
    horizon=st.integers(min_value=1, max_value=30),
)
def test_every_forecast_covers_the_days_after_the_history_with_an_ordered_non_negative_interval(
    history: list[float], horizon: int
) -> None:
    forecast = forecast_demand(history, first_day=FIRST_DAY, horizon=horizon)
    start = FIRST_DAY + timedelta(days=len(history))
    assert [day.day for day in forecast.days] == [start + timedelta(days=ahead) for ahead in range(horizon)]
    for day in forecast.days:
        assert 0.0 <= day.lower <= day.expected <= day.upper
    expected_model = ForecastModel.ETS if len(history) >= MODEL_MIN_HISTORY_DAYS else ForecastModel.SEASONAL_NAIVE
    assert forecast.model in {expected_model, ForecastModel.SEASONAL_NAIVE}
