from functools import lru_cache
from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class PaymentSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "payment"
    db_schema: ClassVar[str] = "payment"
    secret_fields: ClassVar[tuple[str, ...]] = ("stripe_api_key", "stripe_webhook_secret")

    port: int = 8003

    inventory_url: str = "http://127.0.0.1:8001"
    # Booking holds seats and asks for payment intents for the traveler who waits.
    caller_jwks_urls: dict[str, str] = Field(
        default_factory=lambda: {"booking": "http://127.0.0.1:8002/.well-known/jwks.json"}
    )
    upstream_timeout_seconds: float = Field(default=5.0, gt=0)

    stripe_api_key: str = "sk_test_local_development_key"
    # STRIPE_API_BASE as api.md names it; unset means Stripe itself.
    stripe_api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("PAYMENT_STRIPE_API_BASE", "STRIPE_API_BASE")
    )
    stripe_webhook_secret: str = "whsec_local_development_secret"  # noqa: S105
    # Connect's events (about connected accounts) come to an endpoint of their own, with its own
    # signing secret; unset, they are checked with `stripe_webhook_secret` (one endpoint).
    stripe_connect_webhook_secret: str | None = None
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    stripe_command_interval_seconds: float = Field(default=0.5, gt=0)
    # The SDK retries a call that failed in transit or with a 409/5xx at once, with jittered
    # exponential backoff and the same idempotency key; a call still failing is tried again
    # later by the command loop, from `first` doubling to `longest` between tries.
    stripe_max_network_retries: int = Field(default=3, ge=0)
    stripe_retry_first_seconds: float = Field(default=2.0, gt=0)
    stripe_retry_longest_seconds: float = Field(default=3600.0, gt=0)

    # Where Stripe's Connect onboarding sends the provider back: the web app's payout pages
    # (`refresh` when the link expired or was used, `return` when they are done).
    connect_refresh_url: str = "http://localhost:3000/provider/payouts/onboarding?refresh=1"
    connect_return_url: str = "http://localhost:3000/provider/payouts/onboarding?done=1"
    # How often the payout job looks for money that has become due.
    payout_interval_seconds: float = Field(default=2.0, gt=0)

    def stripe_webhook_secrets(self) -> tuple[str, ...]:
        """What a webhook may be signed with: the platform endpoint's secret, then Connect's."""
        connect = (self.stripe_connect_webhook_secret,) if self.stripe_connect_webhook_secret else ()
        return (self.stripe_webhook_secret, *connect)


@lru_cache
def get_settings() -> PaymentSettings:
    return PaymentSettings()
