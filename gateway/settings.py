from functools import lru_cache
from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class GatewaySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "gateway"
    db_schema: ClassVar[str] = "gateway"
    secret_fields: ClassVar[tuple[str, ...]] = ("internal_auth_secret", "jwt_secret", "bootstrap_admin_password")

    port: int = 8000

    inventory_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payment_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    analytics_url: str = "http://127.0.0.1:8005"

    # Signs access tokens. Development values are refused in production.
    jwt_secret: str = "dev-jwt-secret-change-me-0123456789abcdef"  # noqa: S105
    access_token_ttl_seconds: int = Field(default=900, gt=0)
    refresh_token_ttl_days: int = Field(default=30, gt=0)
    internal_identity_ttl_seconds: int = Field(default=60, gt=0)

    # The first admin, created at start-up when missing (printed by `make up` in development).
    bootstrap_admin_email: str = Field(
        default="admin@travel.example",
        validation_alias=AliasChoices("GATEWAY_BOOTSTRAP_ADMIN_EMAIL", "BOOTSTRAP_ADMIN_EMAIL"),
    )
    bootstrap_admin_password: str = Field(
        default="admin-password-change-me",
        validation_alias=AliasChoices("GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", "BOOTSTRAP_ADMIN_PASSWORD"),
    )

    # Sign-in attempts allowed per client address in each window.
    token_rate_limit: int = Field(default=10, gt=0)
    token_rate_window_seconds: int = Field(default=60, gt=0)

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
