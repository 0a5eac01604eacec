from decimal import Decimal
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.booking.affiliate.domain import TEMPLATES, Partner
from shared.settings import AppSettings


class BookingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "booking"
    db_schema: ClassVar[str] = "booking"

    port: int = 8002

    inventory_url: str = "http://127.0.0.1:8001"
    payment_url: str = "http://127.0.0.1:8003"
    upstream_timeout_seconds: float = Field(default=5.0, gt=0)
    idempotency_wait_seconds: float = Field(default=10.0, gt=0)
    # The credit a traveler gets, in the booking's currency, when the provider cancels; more
    # when the provider did not show up at all.
    provider_cancellation_credit: Decimal = Field(default=Decimal(50), ge=0)
    provider_no_show_credit: Decimal = Field(default=Decimal(100), ge=0)
    completion_interval_seconds: float = Field(default=60.0, gt=0)
    # How long a waitlist offer's hold lasts before it moves on to the next traveler.
    waitlist_claim_seconds: int = Field(default=86_400, ge=5, le=7 * 86_400)
    # The platform's id with each partner, put into every affiliate link (a JSON object in
    # BOOKING_AFFILIATE_PARTNER_IDS); development ones by default.
    affiliate_partner_ids: dict[Partner, str] = Field(default_factory=lambda: dict.fromkeys(TEMPLATES, "travel-dev"))

    @field_validator("affiliate_partner_ids")
    @classmethod
    def _every_partner_has_an_id(cls, value: dict[Partner, str]) -> dict[Partner, str]:
        missing = sorted(set(TEMPLATES) - set(value))
        if missing:
            raise ValueError(f"no partner id for {', '.join(missing)}")
        return value


@lru_cache
def get_settings() -> BookingSettings:
    return BookingSettings()
