"""Settings shared by every app.

Each app subclasses `AppSettings` with its own env prefix (`INVENTORY_`, `GATEWAY_`, ...).
Platform-wide values (the database, Redis and broker addresses, the environment) may also be
given once without a prefix, e.g. `KAFKA_BOOTSTRAP_SERVERS`; a prefixed variable wins.
"""

import base64
import hashlib
from typing import Any, ClassVar, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from shared.auth import SERVICE_ROLES
from shared.tracing import TracingExporter

Environment = Literal["development", "test", "production"]

PLATFORM_WIDE_FIELDS = frozenset(
    {
        "environment",
        "database_url",
        "redis_url",
        "kafka_bootstrap_servers",
        "kafka_create_topics",
        "log_level",
        "gateway_jwks_url",
        "tracing_exporter",
        "tracing_otlp_endpoint",
        "tracing_sample_ratio",
        "tracing_directory",
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
    secret_fields: ClassVar[tuple[str, ...]] = ()

    environment: Environment = "development"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel"
    # Connections per process: the pool keeps `database_pool_size` open and opens up to
    # `database_max_overflow` more under load (unset: as many again). k8s/platform-config.yaml
    # budgets them against PostgreSQL's max_connections.
    database_pool_size: int = 10
    database_max_overflow: int | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Whether the app creates its topic and dead-letter topics at startup, with the two settings
    # below. Unset: yes in development and test, never in production, where the topics are
    # declared with the cluster's replication (shared.events.topics, k8s/kafka.yaml).
    kafka_create_topics: bool | None = None
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1

    # The gateway's public keys, which verify the identity it forwards (shared.auth).
    gateway_jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    # This service's own Ed25519 key, for the calls it makes to others on someone's behalf
    # (shared.auth.SERVICE_ROLES says which services do): the unpadded base64url of its 32-byte
    # seed, `<APP>_SERVICE_SIGNING_KEY`. Unset, a development key derived from the service's
    # name, which anyone can derive too: refused in production.
    service_signing_key: SecretStr | None = None
    # The services that may call this one on someone's behalf, by name, with the URL of the
    # JWKS each publishes its key at: `<APP>_CALLER_JWKS_URLS='{"booking": "http://..."}'`.
    caller_jwks_urls: dict[str, str] = Field(default_factory=dict)

    outbox_poll_interval_seconds: float = 0.1
    outbox_batch_size: int = 200
    consumer_max_attempts: int = 5
    consumer_retry_backoff_seconds: float = 0.2
    http_client_timeout_seconds: float = 5.0
    readiness_timeout_seconds: float = 2.0

    relay_enabled: bool = True
    consumers_enabled: bool = True

    metrics_lag_interval_seconds: float = Field(default=5.0, gt=0)

    # Traces (shared.tracing): off unless an exporter is named, `TRACING_EXPORTER=otlp` with
    # `TRACING_OTLP_ENDPOINT` in production; the share of new traces kept.
    tracing_exporter: TracingExporter = "none"
    tracing_otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    tracing_directory: str | None = None

    @model_validator(mode="after")
    def _production_declares_its_topics(self) -> "AppSettings":
        if self.environment == "production" and self.kafka_create_topics:
            raise ValueError("kafka_create_topics: production declares its topics (k8s/kafka-topics.yaml)")
        return self

    @property
    def creates_topics(self) -> bool:
        if self.kafka_create_topics is None:
            return self.environment != "production"
        return self.kafka_create_topics

    @field_validator("caller_jwks_urls")
    @classmethod
    def _callers_act_for_someone(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(SERVICE_ROLES))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} may act for no one (shared.auth.SERVICE_ROLES)")
        return value

    @field_validator("service_signing_key")
    @classmethod
    def _signing_key_is_a_seed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            private_key_of(value.get_secret_value())
        return value

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
            for name in self.production_secrets():
                if getattr(self, name) == defaults[name].default:
                    raise DevelopmentSecretInProduction(f"{name} must be set to a real secret in production")
            if self.signs_service_identity and self.signing_key_seed() == development_service_key(self.service_name):
                raise DevelopmentSecretInProduction("service_signing_key must be set to a real secret in production")

    def production_secrets(self) -> tuple[str, ...]:
        """The fields production refuses to run with the development value of."""
        return self.secret_fields + (("service_signing_key",) if self.signs_service_identity else ())

    @property
    def signs_service_identity(self) -> bool:
        """Whether this service calls others on someone's behalf, with a key of its own."""
        return self.service_name in SERVICE_ROLES

    def signing_key_seed(self) -> str:
        """This service's key for its calls on someone's behalf (`service_signing_key`)."""
        if self.service_signing_key is None:
            return development_service_key(self.service_name)
        return self.service_signing_key.get_secret_value()

    def signing_key(self) -> Ed25519PrivateKey:
        return private_key_of(self.signing_key_seed())

    @property
    def events_topic(self) -> str:
        """The one topic this app publishes its events to."""
        return f"{self.service_name}.events"


def development_service_key(service_name: str) -> str:
    """The development key of a service: derived from its name, so `make up` and the tests
    need none set, and known to everyone, so refused in production."""
    seed = hashlib.sha256(f"travel platform development service key: {service_name}".encode()).digest()
    return base64.urlsafe_b64encode(seed).rstrip(b"=").decode()


def private_key_of(seed: str) -> Ed25519PrivateKey:
    try:
        raw = base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))
    except ValueError:
        raise ValueError("a service signing key is the base64url of a 32-byte Ed25519 seed") from None
    if len(raw) != 32:
        raise ValueError("a service signing key is the base64url of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(raw)
