from functools import lru_cache
from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class NotificationSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "notification"
    db_schema: ClassVar[str] = "notification"

    port: int = 8004

    # SMTP_HOST and SMTP_PORT as the dev stack names them (its mail sink).
    smtp_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("NOTIFICATION_SMTP_HOST", "SMTP_HOST"))
    smtp_port: int = Field(default=1025, validation_alias=AliasChoices("NOTIFICATION_SMTP_PORT", "SMTP_PORT"))
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Travel Platform <bookings@travel.example>"
    # Where the links in account emails (verify the address, reset the password) lead.
    web_app_url: str = "http://localhost:3000"
    delivery_interval_seconds: float = Field(default=0.5, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)


@lru_cache
def get_settings() -> NotificationSettings:
    return NotificationSettings()
