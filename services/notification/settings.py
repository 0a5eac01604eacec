from datetime import timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.notification.notifications.domain import RetrySchedule
from services.notification.notifications.service import Addressing, DeliveryPolicy
from services.notification.preferences.domain import UnsubscribeLinks
from shared.settings import AppSettings


class NotificationSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "notification"
    secret_fields: ClassVar[tuple[str, ...]] = ("twilio_auth_token", "smtp_password", "unsubscribe_secret")
    db_schema: ClassVar[str] = "notification"

    port: int = 8004

    # SMTP_HOST and SMTP_PORT as the dev stack names them (its mail sink).
    smtp_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("NOTIFICATION_SMTP_HOST", "SMTP_HOST"))
    smtp_port: int = Field(default=1025, validation_alias=AliasChoices("NOTIFICATION_SMTP_PORT", "SMTP_PORT"))
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # How the connection is secured: not at all (the dev stack's mail sink), upgraded with
    # STARTTLS (submission, port 587), or TLS from the first byte (port 465).
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    # A CA bundle (PEM) to trust the server's certificate by, beside the system's; unset, the system's.
    smtp_tls_ca_file: str | None = None
    # Unset, no AUTH; set, the server must offer it (over TLS, as aiosmtplib insists).
    smtp_username: str | None = None
    smtp_password: SecretStr = SecretStr("local_development_smtp_password")
    mail_from: str = "Travel Platform <bookings@travel.example>"
    # Where the links in account emails (verify the address, reset the password) lead.
    web_app_url: str = "http://localhost:3000"
    # The public API as the gateway serves it: the base of the unsubscribe links in emails.
    public_api_url: str = "http://localhost:8000/api/v1"
    # Signs the unsubscribe links (HMAC-SHA256): who may switch off which email, without signing in.
    unsubscribe_secret: str = "local_development_unsubscribe_secret"  # noqa: S105
    # Off for a replica that only serves HTTP and consumes (and in tests that drive the worker).
    delivery_worker_enabled: bool = True
    # How often the delivery worker looks for due deliveries when it found none.
    delivery_interval_seconds: float = Field(default=0.5, gt=0)
    delivery_batch_size: int = Field(default=20, ge=1)
    # How often the reminder job (run with the delivery worker) looks for due reminders when it found none.
    reminder_interval_seconds: float = Field(default=30, gt=0)
    # How often the providers' manifest job (run with the delivery worker) looks for manifests
    # due: a manifest goes out at most this long after 18:00 local time.
    manifest_interval_seconds: float = Field(default=60, gt=0)
    # The dead-letter topics admins are told of (a regular expression matching whole names):
    # every consumer's of the platform.
    dead_letter_topic_pattern: str = r".*\.dlq"
    # How long a worker holds a claimed delivery: past it (the worker died), another sends it.
    # Longer than a batch of sends can take (SMTP's timeout for each).
    delivery_lease_seconds: float = Field(default=300, gt=0)
    # Retries: the first within `retry_base_seconds`, doubling to `retry_cap_seconds`, for
    # `retry_max_age_hours` from when the delivery was queued; then it is dead.
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_cap_seconds: float = Field(default=1800, gt=0)
    retry_max_age_hours: float = Field(default=24, gt=0)

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            schedule=RetrySchedule(
                base=timedelta(seconds=self.retry_base_seconds),
                cap=timedelta(seconds=self.retry_cap_seconds),
                max_age=timedelta(hours=self.retry_max_age_hours),
            ),
            lease=timedelta(seconds=self.delivery_lease_seconds),
            batch_size=self.delivery_batch_size,
        )

    def production_secrets(self) -> tuple[str, ...]:
        # Without a username nothing logs in: the password is never sent, so never needed.
        secrets = super().production_secrets()
        return secrets if self.smtp_username is not None else tuple(name for name in secrets if name != "smtp_password")

    def unsubscribe_links(self) -> UnsubscribeLinks:
        return UnsubscribeLinks(secret=self.unsubscribe_secret.encode(), base_url=self.public_api_url)

    def addressing(self) -> Addressing:
        return Addressing(
            message_id_domain=self.message_id_domain,
            sms_default_region=self.sms_default_region,
            unsubscribe_links=self.unsubscribe_links(),
        )

    @property
    def message_id_domain(self) -> str:
        """The right-hand side of the Message-IDs we make: the sender's domain."""
        return parseaddr(self.mail_from)[1].rpartition("@")[2] or "travel.example"

    # SMS through Twilio's SDK. The API base unset is Twilio's own; the dev stack points it at
    # its Twilio-compatible sink (devstack/twilio_sink.py).
    twilio_api_base: str | None = None
    twilio_account_sid: str = "AC000000000000000000000000000local"
    twilio_auth_token: str = "local_development_twilio_auth_token"  # noqa: S105
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)
    # The number (or sender ID) messages come from.
    sms_from: str = "+15005550006"
    # Where Twilio posts delivery statuses: this service's webhook as the public reaches it,
    # through the gateway (…/api/v1/notifications/webhooks/twilio). Signatures are checked
    # against it. Unset, no statuses are asked for.
    sms_status_callback_url: str | None = None
    # The region a number typed without its country code is read in (ISO 3166 alpha-2).
    sms_default_region: str = "PT"


@lru_cache
def get_settings() -> NotificationSettings:
    return NotificationSettings()
