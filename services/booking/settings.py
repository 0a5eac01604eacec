from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class BookingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "booking"
    db_schema: ClassVar[str] = "booking"

    port: int = 8002


@lru_cache
def get_settings() -> BookingSettings:
    return BookingSettings()
