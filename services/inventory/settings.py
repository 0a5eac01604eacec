from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import AppSettings


class InventorySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "inventory"
    db_schema: ClassVar[str] = "inventory"

    port: int = 8001
    # Booking holds seats and asks for payment intents for the traveler who waits.
    caller_jwks_urls: dict[str, str] = Field(
        default_factory=lambda: {"booking": "http://127.0.0.1:8002/.well-known/jwks.json"}
    )

    slot_horizon_days: int = Field(default=180, ge=1, le=730)
    hold_expiry_interval_seconds: float = Field(default=1.0, gt=0)
    # However often a hold is extended, its seats go back on sale this long after it was placed.
    max_hold_seconds: int = Field(default=3600, ge=60)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    slot_top_up_interval_seconds: float = Field(default=3600.0, gt=0)
    # How often listing views counted in Redis are sent to analytics: their most lag.
    view_flush_interval_seconds: float = Field(default=30.0, gt=0)


@lru_cache
def get_settings() -> InventorySettings:
    return InventorySettings()
