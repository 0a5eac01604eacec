from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class AnalyticsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "analytics"
    db_schema: ClassVar[str] = "analytics"

    port: int = 8005


@lru_cache
def get_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
