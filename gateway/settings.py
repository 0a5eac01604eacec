from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class GatewaySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "gateway"
    db_schema: ClassVar[str] = "gateway"

    port: int = 8000

    inventory_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payment_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    analytics_url: str = "http://127.0.0.1:8005"

    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    max_request_body_bytes: int = Field(default=1_048_576, gt=0)
    openapi_cache_seconds: float = Field(default=30.0, ge=0)

    def upstream_urls(self) -> dict[str, str]:
        """Base URL of every service, by service name."""
        return {
            "inventory": self.inventory_url,
            "booking": self.booking_url,
            "payment": self.payment_url,
            "notification": self.notification_url,
            "analytics": self.analytics_url,
        }


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
