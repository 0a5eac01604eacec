from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class NotificationSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "notification"
    db_schema: ClassVar[str] = "notification"

    port: int = 8004


@lru_cache
def get_settings() -> NotificationSettings:
    return NotificationSettings()
