from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.booking.affiliate.domain import TEMPLATES, Partner
from services.booking.balances.domain import BalanceSchedule, DepositTerms
from services.booking.requests.domain import Deadlines
from services.booking.webhooks.domain import DisablePolicy, RetryPolicy
from services.booking.webhooks.sealing import SecretBox
from shared.settings import AppSettings


class BookingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "booking"
    db_schema: ClassVar[str] = "booking"
    secret_fields: ClassVar[tuple[str, ...]] = ("calendar_feed_secret", "webhook_secrets_key")

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
    # An expert's share of the bookings made through their handoffs, unless an admin set
    # their own on their profile.
    expert_fee_percentage: Decimal = Field(default=Decimal(10), ge=0, le=100)
    # The platform's id with each partner, put into every affiliate link (a JSON object in
    # BOOKING_AFFILIATE_PARTNER_IDS); development ones by default.
    affiliate_partner_ids: dict[Partner, str] = Field(default_factory=lambda: dict.fromkeys(TEMPLATES, "travel-dev"))

    # Request-to-book: the provider answers within `request_answer_seconds`, reminded after
    # the first and warned after the second mark; a counter-offer waits as long for the
    # traveler; an accepted request's seats are held for the payment window.
    request_answer_seconds: int = Field(default=48 * 3600, ge=60)
    request_reminder_after_seconds: int = Field(default=24 * 3600, ge=1)
    request_last_warning_after_seconds: int = Field(default=46 * 3600, ge=1)
    counter_offer_answer_seconds: int = Field(default=48 * 3600, ge=60)
    request_payment_seconds: int = Field(default=24 * 3600, ge=60, le=7 * 86_400)
    # Declined requests list the listing's open slots this many days ahead.
    request_alternative_days: int = Field(default=14, ge=1, le=31)
    request_deadlines_interval_seconds: float = Field(default=60.0, gt=0)
    # Fair use: how many requests one traveler may have waiting for an answer at once (and at
    # most one per slot), so nobody floods providers or the traveler's own inbox.
    max_open_requests_per_traveler: int = Field(default=5, ge=1, le=100)

    # Deposits: the share of the total paid at booking, and how long before the slot the
    # balance is charged to the saved card; a failed charge is retried this many hours later,
    # up to the last attempt, after which the booking is cancelled as the traveler's.
    deposit_percent: Decimal = Field(default=Decimal(30), gt=0, lt=100)
    balance_due_days: int = Field(default=14, ge=1, le=365)
    balance_retry_hours: int = Field(default=24, ge=1)
    balance_max_attempts: int = Field(default=3, ge=1, le=10)
    balance_interval_seconds: float = Field(default=300.0, gt=0)

    # The public API as the gateway serves it: the base of shared trips' and calendar feeds' URLs.
    public_api_url: str = "http://localhost:8000/api/v1"
    # Signs the calendar feeds' tokens (HMAC-SHA256): who may read which trip's or provider's feed.
    calendar_feed_secret: SecretStr = SecretStr("local_development_calendar_feed_secret")
    # How often a subscribed calendar is asked to fetch a feed again, and how long a fetched
    # feed may be kept by whoever fetched it.
    calendar_refresh_minutes: int = Field(default=60, ge=5, le=24 * 60)
    calendar_cache_seconds: int = Field(default=300, ge=0, le=3600)
    # A provider's feed leaves out bookings that ended longer ago than this.
    provider_calendar_past_days: int = Field(default=90, ge=1, le=3660)
    # Webhooks: how often the delivery job looks for due deliveries, how long an endpoint has
    # to answer, the retries (30 s doubling to a cap, for a window), and when a subscription
    # that keeps failing is disabled. Private targets (localhost, 10.x, ...) are refused in
    # production and allowed elsewhere unless BOOKING_WEBHOOKS_ALLOW_PRIVATE_TARGETS says.
    webhook_delivery_interval_seconds: float = Field(default=2.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    webhook_retry_first_seconds: int = Field(default=30, ge=1)
    webhook_retry_max_seconds: int = Field(default=4 * 3600, ge=1)
    webhook_retry_window_hours: float = Field(default=24, gt=0)
    webhook_disable_after_failed_deliveries: int = Field(default=5, ge=1)
    webhook_disable_after_failing_hours: float = Field(default=72, gt=0)
    webhooks_allow_private_targets: bool | None = None
    # The key webhook signing secrets are encrypted with at rest (any long random string).
    webhook_secrets_key: SecretStr = SecretStr("development-webhook-secrets-key")

    @model_validator(mode="after")
    def _request_deadlines_in_order(self) -> "BookingSettings":
        self.request_deadlines()
        return self

    def request_deadlines(self) -> Deadlines:
        return Deadlines(
            answer=timedelta(seconds=self.request_answer_seconds),
            reminder_after=timedelta(seconds=self.request_reminder_after_seconds),
            last_warning_after=timedelta(seconds=self.request_last_warning_after_seconds),
            counter_answer=timedelta(seconds=self.counter_offer_answer_seconds),
        )

    def webhook_retries(self) -> RetryPolicy:
        return RetryPolicy(
            first_wait=timedelta(seconds=self.webhook_retry_first_seconds),
            max_wait=timedelta(seconds=self.webhook_retry_max_seconds),
            window=timedelta(hours=self.webhook_retry_window_hours),
        )

    def webhook_disabling(self) -> DisablePolicy:
        return DisablePolicy(
            failed_deliveries=self.webhook_disable_after_failed_deliveries,
            failing_for=timedelta(hours=self.webhook_disable_after_failing_hours),
        )

    def webhook_secret_box(self) -> SecretBox:
        return SecretBox(self.webhook_secrets_key.get_secret_value())

    def allows_private_webhook_targets(self) -> bool:
        if self.webhooks_allow_private_targets is not None:
            return self.webhooks_allow_private_targets
        return self.environment != "production"

    def deposit_terms(self) -> DepositTerms:
        return DepositTerms(percent=self.deposit_percent, due_before=timedelta(days=self.balance_due_days))

    def balance_schedule(self) -> BalanceSchedule:
        return BalanceSchedule(
            retry_after=timedelta(hours=self.balance_retry_hours), max_attempts=self.balance_max_attempts
        )

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
