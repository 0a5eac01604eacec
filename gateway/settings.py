from functools import lru_cache
from typing import ClassVar

from pydantic import AliasChoices, Field, IPvAnyNetwork, model_validator
from pydantic_settings import SettingsConfigDict

from gateway.ratelimit.classes import RateClassName, RateLimit
from shared.settings import AppSettings


class GatewaySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "gateway"
    db_schema: ClassVar[str] = "gateway"
    secret_fields: ClassVar[tuple[str, ...]] = (
        "signing_key_secret",
        "bootstrap_admin_password",
    )

    port: int = 8000

    inventory_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payment_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    analytics_url: str = "http://127.0.0.1:8005"

    # Encrypts the token signing keys kept in the database (gateway/identity/signing_keys.py).
    signing_key_secret: str = "dev-signing-key-secret-change-me-0123456789"  # noqa: S105 (refused in production)
    access_token_ttl_seconds: int = Field(default=900, gt=0)
    refresh_token_ttl_days: int = Field(default=30, gt=0)
    internal_identity_ttl_seconds: int = Field(default=60, gt=0)
    # How long a process signs with the keys it loaded before it reads them again; a
    # superseded key stays published this much longer than the tokens it signed live.
    signing_key_cache_seconds: int = Field(default=30, gt=0)
    # The least time between two reloads that tokens naming an unknown key ask for.
    signing_key_reload_seconds: float = Field(default=1.0, ge=0)

    # Failed sign-ins to one account, in a sliding window, after which it is locked until
    # the oldest of them leaves the window (on top of the limit per address below).
    sign_in_failure_limit: int = Field(default=5, gt=0)
    sign_in_failure_window_seconds: int = Field(default=900, gt=0)

    # How long an emailed token works: verifying the email, resetting the password.
    email_verification_token_ttl_hours: int = Field(default=48, gt=0)
    password_reset_token_ttl_minutes: int = Field(default=60, gt=0)

    # Live API keys one user may hold.
    api_key_limit: int = Field(default=20, gt=0)

    # An external identity provider whose access tokens are trusted: all three, or none.
    external_idp_issuer: str | None = None
    external_idp_audience: str | None = None
    external_idp_jwks_url: str | None = None

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
    # Other route classes' limits (gateway/ratelimit/classes.py has the table), replaced by
    # class name: GATEWAY_RATE_LIMITS='{"read": {"per_ip": 2400, "per_user": 1200}}'.
    rate_limits: dict[RateClassName, RateLimit] = Field(default_factory=dict)
    # Every limit times this: the end-to-end tests and the bench raise it, as all their clients
    # share one address.
    rate_limit_scale: float = Field(default=1.0, gt=0)
    # The limiter gives up on Redis this soon (what happens then: gateway/ratelimit/service.py).
    rate_limit_redis_timeout_seconds: float = Field(default=1.0, gt=0)

    # How long a service may take to answer, by route (gateway/proxy/timeouts.py): reads, most
    # routes, and those that charge or book through another service.
    upstream_read_timeout_seconds: float = Field(default=5.0, gt=0)
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_slow_timeout_seconds: float = Field(default=30.0, gt=0)
    # Further tries of an idempotent request after a connect error or a 503.
    upstream_retries: int = Field(default=2, ge=0)
    # A service's circuit opens after this many failures in a row, for this long.
    circuit_failure_threshold: int = Field(default=5, gt=0)
    circuit_cooldown_seconds: float = Field(default=10.0, gt=0)
    # A proxied WebSocket with no message either way for this long is closed.
    websocket_idle_seconds: float = Field(default=300.0, gt=0)
    # The proxies in front of the gateway (load balancers, an ingress), as CIDRs:
    # GATEWAY_TRUSTED_PROXIES='["10.0.0.0/8"]'. Only past them is X-Forwarded-For read for the
    # client's address (gateway/proxy/forwarding.py); none by default.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Browser origins allowed to call the API (the Next.js app in development).
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"])
    max_request_body_bytes: int = Field(default=1_048_576, gt=0)
    openapi_cache_seconds: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _external_idp_is_whole_or_absent(self) -> "GatewaySettings":
        given = [self.external_idp_issuer, self.external_idp_audience, self.external_idp_jwks_url]
        if any(given) and not all(given):
            raise ValueError("external_idp_issuer, external_idp_audience and external_idp_jwks_url go together")
        return self

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
