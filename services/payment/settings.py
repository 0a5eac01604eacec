from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class PaymentSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "payment"
    db_schema: ClassVar[str] = "payment"

    port: int = 8003


@lru_cache
def get_settings() -> PaymentSettings:
    return PaymentSettings()
