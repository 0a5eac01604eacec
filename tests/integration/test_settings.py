"""Settings: one prefix per app, platform-wide values once, no development secret in production."""

import base64
import os

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from services.booking.settings import BookingSettings
from services.inventory.settings import InventorySettings
from services.payment.main import build_app as build_payment_app
from services.payment.settings import PaymentSettings
from shared.settings import AppSettings, DevelopmentSecretInProduction, development_service_key

A_REAL_KEY = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def test_a_platform_wide_value_reaches_every_app_and_a_prefixed_one_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092")
    monkeypatch.setenv("INVENTORY_KAFKA_BOOTSTRAP_SERVERS", "broker-b:9092")
    assert BookingSettings().kafka_bootstrap_servers == "broker-a:9092"
    assert InventorySettings().kafka_bootstrap_servers == "broker-b:9092"


def test_an_app_only_setting_is_not_taken_without_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("BOOKING_PORT", "8102")
    assert InventorySettings().port == 8001
    assert BookingSettings().port == 8102


def test_production_refuses_a_missing_or_development_service_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("BOOKING_CALENDAR_FEED_SECRET", A_REAL_KEY)
    monkeypatch.setenv("BOOKING_WEBHOOK_SECRETS_KEY", "a-real-key-for-webhook-secrets")
    with pytest.raises(DevelopmentSecretInProduction, match="service_signing_key"):
        BookingSettings().refuse_development_secrets_in_production()
    monkeypatch.setenv("BOOKING_SERVICE_SIGNING_KEY", development_service_key("booking"))
    with pytest.raises(DevelopmentSecretInProduction, match="service_signing_key"):
        BookingSettings().refuse_development_secrets_in_production()
    monkeypatch.setenv("BOOKING_SERVICE_SIGNING_KEY", A_REAL_KEY)
    BookingSettings().refuse_development_secrets_in_production()
    # Inventory acts for no one: it needs no key of its own.
    InventorySettings().refuse_development_secrets_in_production()


def test_a_service_signing_key_is_a_32_byte_seed_and_only_in_the_services_own_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_SIGNING_KEY", A_REAL_KEY)
    assert BookingSettings().service_signing_key is None
    for not_a_seed in ("short", "!" * 43, base64.urlsafe_b64encode(b"x" * 31).decode()):
        monkeypatch.setenv("BOOKING_SERVICE_SIGNING_KEY", not_a_seed)
        with pytest.raises(ValidationError):
            BookingSettings()


def test_only_services_that_act_for_someone_may_be_trusted_as_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(InventorySettings().caller_jwks_urls) == {"booking"}
    monkeypatch.setenv("INVENTORY_CALLER_JWKS_URLS", '{"notification": "http://notification/.well-known/jwks.json"}')
    with pytest.raises(ValidationError, match="notification"):
        InventorySettings()


def test_an_app_will_not_be_built_with_a_development_secret_in_production_but_its_migrations_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")

    settings = PaymentSettings()  # what a migration job reads: no secret needed

    assert settings.database_url
    with pytest.raises(DevelopmentSecretInProduction, match="stripe_api_key"):
        build_payment_app(settings)


def test_each_app_publishes_to_its_own_topic_in_its_own_schema() -> None:
    assert (InventorySettings().events_topic, InventorySettings.db_schema) == ("inventory.events", "inventory")
    assert (BookingSettings().events_topic, BookingSettings.db_schema) == ("booking.events", "booking")


@pytest.mark.parametrize(
    ("settings_class", "secret_env"),
    [
        (GatewaySettings, {"GATEWAY_SIGNING_KEY_SECRET": "x" * 40, "BOOTSTRAP_ADMIN_PASSWORD": "y" * 20}),
        (PaymentSettings, {"PAYMENT_STRIPE_API_KEY": "sk_live_real", "PAYMENT_STRIPE_WEBHOOK_SECRET": "whsec_real"}),
        (
            BookingSettings,
            {
                "BOOKING_SERVICE_SIGNING_KEY": A_REAL_KEY,
                "BOOKING_CALENDAR_FEED_SECRET": "z" * 40,
                "BOOKING_WEBHOOK_SECRETS_KEY": "a-real-key-for-webhooks",
            },
        ),
    ],
)
def test_production_refuses_each_apps_own_development_secrets(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[AppSettings], secret_env: dict[str, str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name in secret_env:
        with pytest.raises(DevelopmentSecretInProduction):
            settings_class().refuse_development_secrets_in_production()
        monkeypatch.setenv(name, secret_env[name])
    settings_class().refuse_development_secrets_in_production()
