"""Demand forecasts of a listing: how many seats a day will be booked, with an interval.

The model is statsmodels' ETS (error, trend, seasonality) with additive errors, a damped
additive trend and a weekly season: travel demand moves by weekday, drifts over months, and
a damped trend keeps a few good weeks from being extrapolated for ever. It needs several weeks
of history to tell the weekly pattern from noise; with less, or when the fit fails, the answer
is the seasonal-naive forecast (each day as the same weekday last week), its interval from the
spread of week-on-week changes. The answer names the model used and the days of history.

Seats cannot be negative: forecasts and interval bounds are cut at zero.
"""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from statistics import NormalDist, fmean, pstdev

SEASON_DAYS = 7
# Eight weeks: enough weekly cycles for the seasonal terms to settle.
MODEL_MIN_HISTORY_DAYS = 8 * SEASON_DAYS
INTERVAL_LEVEL = 0.8


class ForecastModel(StrEnum):
    ETS = "ets_damped_trend_weekly"
    SEASONAL_NAIVE = "seasonal_naive"


@dataclass(frozen=True)
class DayForecast:
    day: date
    expected: float
    lower: float
    upper: float


@dataclass(frozen=True)
class DemandForecast:
    model: ForecastModel
    history_days: int
    level: float
    days: list[DayForecast]


def forecast_demand(
    daily: Sequence[float], *, first_day: date, horizon: int, level: float = INTERVAL_LEVEL
) -> DemandForecast:
    """The next `horizon` days after a history of daily demand that starts on `first_day`
    (one value per day, no gaps: a day without bookings is 0)."""
    start = first_day + timedelta(days=len(daily))
    days = [start + timedelta(days=ahead) for ahead in range(horizon)]
    if len(daily) >= MODEL_MIN_HISTORY_DAYS:
        fitted = _ets(daily, first_day=first_day, horizon=horizon, level=level)
        if fitted is not None:
            expected, lower, upper = fitted
            return DemandForecast(ForecastModel.ETS, len(daily), level, _days(days, expected, lower, upper))
    expected, lower, upper = seasonal_naive(daily, horizon=horizon, level=level)
    return DemandForecast(ForecastModel.SEASONAL_NAIVE, len(daily), level, _days(days, expected, lower, upper))


Bands = tuple[list[float], list[float], list[float]]


def seasonal_naive(daily: Sequence[float], *, horizon: int, level: float = INTERVAL_LEVEL) -> Bands:
    """Each day as the same weekday in the last week of history; the interval widens with
    each week ahead by the spread of week-on-week changes. Shorter than a week: the mean day."""
    if not daily:
        return [0.0] * horizon, [0.0] * horizon, [0.0] * horizon
    z = NormalDist().inv_cdf((1 + level) / 2)
    if len(daily) < SEASON_DAYS:
        mean, spread = fmean(daily), pstdev(daily)
        expected = [mean] * horizon
        return expected, [mean - z * spread] * horizon, [mean + z * spread] * horizon
    changes = [daily[day] - daily[day - SEASON_DAYS] for day in range(SEASON_DAYS, len(daily))]
    spread = math.sqrt(fmean(change * change for change in changes)) if changes else 0.0
    last_week = daily[-SEASON_DAYS:]
    expected, lower, upper = [], [], []
    for ahead in range(horizon):
        value = last_week[ahead % SEASON_DAYS]
        width = z * spread * math.sqrt(ahead // SEASON_DAYS + 1)
        expected.append(value)
        lower.append(value - width)
        upper.append(value + width)
    return expected, lower, upper


def _ets(daily: Sequence[float], *, first_day: date, horizon: int, level: float) -> Bands | None:
    # Imported on the first fit, in the worker thread that fits: statsmodels with pandas and
    # scipy takes seconds to import, which the service's start and readiness should not wait for.
    import numpy as np
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(np.asarray(daily, dtype=float), index=pd.date_range(first_day, periods=len(daily), freq="D"))
    model = ETSModel(series, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=SEASON_DAYS)
    with warnings.catch_warnings():
        # A fit that does not converge is judged by its forecast below, not by a warning.
        warnings.simplefilter("ignore")
        try:
            fit = model.fit(disp=False)
            frame = fit.get_prediction(start=len(daily), end=len(daily) + horizon - 1).summary_frame(alpha=1 - level)
        except (ValueError, np.linalg.LinAlgError):
            return None
    columns = [frame[name].to_numpy(dtype=float) for name in ("mean", "pi_lower", "pi_upper")]
    if not all(np.isfinite(column).all() for column in columns):
        return None
    expected, lower, upper = (column.tolist() for column in columns)
    return expected, lower, upper


def _days(days: list[date], expected: list[float], lower: list[float], upper: list[float]) -> list[DayForecast]:
    return [
        DayForecast(day=day, expected=max(mean, 0.0), lower=max(low, 0.0), upper=max(high, 0.0))
        for day, mean, low, high in zip(days, expected, lower, upper, strict=True)
    ]
