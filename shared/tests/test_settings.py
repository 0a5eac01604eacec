"""Settings: one prefix per app, platform-wide values once, no development secret in production."""

import pytest
from pydantic import ValidationError

from services.booking.settings import BookingSettings
from services.inventory.settings import InventorySettings


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


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="internal_auth_secret"):
        InventorySettings()
    monkeypatch.setenv("INTERNAL_AUTH_SECRET", "a-real-secret-from-the-vault")
    assert InventorySettings().environment == "production"


def test_each_app_publishes_to_its_own_topic_in_its_own_schema() -> None:
    assert (InventorySettings().events_topic, InventorySettings.db_schema) == ("inventory.events", "inventory")
    assert (BookingSettings().events_topic, BookingSettings.db_schema) == ("booking.events", "booking")
