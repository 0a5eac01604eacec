from datetime import date
from uuid import UUID

from pydantic import BaseModel

from services.analytics.forecasts.domain import ForecastModel


class ForecastDay(BaseModel):
    date: date
    # Bookings expected that day, and the interval that holds the day's count with `level`'s chance.
    expected: float
    lower: float
    upper: float


class ListingForecast(BaseModel):
    listing_id: UUID
    model: ForecastModel
    # The days of bookings the forecast was made from, up to yesterday (today is not over).
    history_days: int
    level: float
    days: list[ForecastDay]
