"""Settings shared by every app.

Each app subclasses `AppSettings` with its own env prefix (`INVENTORY_`, `GATEWAY_`, ...).
Platform-wide values (the database, Redis and broker addresses, the environment) may also be
given once without a prefix, e.g. `KAFKA_BOOTSTRAP_SERVERS`; a prefixed variable wins.
"""

from typing import Any, ClassVar, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

Environment = Literal["development", "test", "production"]

PLATFORM_WIDE_FIELDS = frozenset(
    {
        "environment",
        "database_url",
        "redis_url",
        "kafka_bootstrap_servers",
        "log_level",
        "internal_auth_secret",
        "gateway_jwks_url",
    }
)


class _PlatformWideEnvSource(EnvSettingsSource):
    """Reads only the platform-wide fields, without the app's prefix."""

    def __call__(self) -> dict[str, Any]:
        return {name: value for name, value in super().__call__().items() if name in PLATFORM_WIDE_FIELDS}


class DevelopmentSecretInProduction(ValueError):
    pass


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str]
    db_schema: ClassVar[str]
    # Fields whose defaults are fine on a laptop and must be set to real secrets in production.
    secret_fields: ClassVar[tuple[str, ...]] = ("internal_auth_secret",)

    environment: Environment = "development"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel"
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1

    # Signs the identity a service sends when it calls another on someone's behalf (shared.auth).
    internal_auth_secret: str = "dev-internal-secret-change-me-0123456789"  # noqa: S105 (refused in production)
    # The gateway's public keys, which verify the identity it forwards (shared.auth).
    gateway_jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"

    outbox_poll_interval_seconds: float = 0.1
    outbox_batch_size: int = 200
    consumer_max_attempts: int = 5
    consumer_retry_backoff_seconds: float = 0.2
    http_client_timeout_seconds: float = 5.0
    readiness_timeout_seconds: float = 2.0

    relay_enabled: bool = True
    consumers_enabled: bool = True

    metrics_lag_interval_seconds: float = Field(default=5.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        platform_wide = _PlatformWideEnvSource(settings_cls, env_prefix="")
        return (init_settings, env_settings, platform_wide, dotenv_settings, file_secret_settings)

    def refuse_development_secrets_in_production(self) -> None:
        """Raise if a production app would run with a development secret. Asked when an app is
        built, not when settings load: a migration job reads only the database settings."""
        if self.environment == "production":
            defaults = type(self).model_fields
            for name in self.secret_fields:
                if getattr(self, name) == defaults[name].default:
                    raise DevelopmentSecretInProduction(f"{name} must be set to a real secret in production")

    @property
    def events_topic(self) -> str:
        """The one topic this app publishes its events to."""
        return f"{self.service_name}.events"
