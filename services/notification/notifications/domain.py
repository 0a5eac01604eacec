"""What a notification is, and when a failed delivery is tried again.

A notification is one thing a person is told (a kind, about a subject such as a booking),
caused by one event; it goes out once per channel, and each channel's delivery keeps its own
state. Everything here is pure: no database, no SMTP.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Literal, Protocol
from uuid import UUID


class NotificationKind(StrEnum):
    """Every kind of notification the platform sends: the catalogue preferences, templates and
    in-app feeds are keyed by."""

    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_CHANGED = "booking_changed"
    BOOKING_REMINDER = "booking_reminder"
    BALANCE_CHARGE_FAILED = "balance_charge_failed"
    BOOKED_ON_BEHALF = "booked_on_behalf"
    BOOKING_REQUEST_CREATED = "booking_request_created"
    BOOKING_REQUEST_PROVIDER_REMINDED = "booking_request_provider_reminded"
    BOOKING_REQUEST_PROVIDER_WARNED = "booking_request_provider_warned"
    BOOKING_REQUEST_ACCEPTED = "booking_request_accepted"
    BOOKING_REQUEST_COUNTER_ACCEPTED = "booking_request_counter_accepted"
    BOOKING_REQUEST_DECLINED = "booking_request_declined"
    BOOKING_REQUEST_COUNTERED = "booking_request_countered"
    BOOKING_REQUEST_EXPIRED = "booking_request_expired"
    BOOKING_EXPIRED = "booking_expired"
    PAYMENT_FAILED = "payment_failed"
    REFUND_COMPLETED = "refund_completed"
    WAITLIST_OFFERED = "waitlist_offered"
    PROVIDER_BOOKING_RECEIVED = "provider_booking_received"
    PROVIDER_BOOKING_CANCELLED = "provider_booking_cancelled"
    PROVIDER_BOOKING_CHANGED = "provider_booking_changed"
    HANDOFF_REQUESTED = "handoff_requested"
    PAYOUT_FAILED = "payout_failed"
    PAYOUT_FAILED_OPS = "payout_failed_ops"
    EMAIL_VERIFICATION = "email_verification"
    REGISTRATION_ATTEMPTED = "registration_attempted"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a kind's name, not a secret)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105
    PROVIDER_DAILY_MANIFEST = "provider_daily_manifest"
    DEAD_LETTERS = "dead_letters"
    WEBHOOK_SUBSCRIPTION_DISABLED = "webhook_subscription_disabled"


Channel = Literal["email", "sms", "in_app"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "in_app")

# pending → sending → sent
#              ↘ failed_retrying → sending → ... → dead (past the retry window) → pending (resent by an admin)
# A `sending` delivery whose lease ran out (its worker died mid-send) is claimed again.
DeliveryState = Literal["pending", "sending", "sent", "failed_retrying", "dead"]
CLAIMABLE_STATES: tuple[DeliveryState, ...] = ("pending", "failed_retrying", "sending")

# What a notification is about, for in-app feeds and links: a booking, a booking request, an
# account, a provider's manifest of a day, a dead-letter topic (no id: named in the facts), a
# waitlist entry, an expert handoff, a payout, a webhook subscription.
SubjectType = Literal[
    "booking",
    "booking_request",
    "account",
    "provider_manifest",
    "dead_letter_topic",
    "waitlist_entry",
    "handoff",
    "payout",
    "webhook_subscription",
]


@dataclass(frozen=True)
class Recipient:
    """Who is told: the account when the event names it, the address to write to, and how to
    speak to them (their locale; dates in the listing's own timezone)."""

    email: str
    user_id: UUID | None = None
    phone: str | None = None
    locale: str = "en"
    timezone: str | None = None

    @property
    def key(self) -> str:
        """Who this is for the rule that one event tells one person one thing once: the account
        when known, else the address."""
        return str(self.user_id) if self.user_id is not None else self.email.strip().lower()


@dataclass(frozen=True)
class NotificationDraft:
    """A notification as an event's handler composes it, before it is recorded: what it says
    on each channel it goes to. `sms` is the text of a kind that goes by SMS (sent when the
    recipient has a phone number that is one)."""

    kind: NotificationKind
    recipient: Recipient
    subject_type: SubjectType
    subject_id: UUID | None
    title: str
    email: EmailMessage
    facts: dict[str, Any] = field(default_factory=dict)
    sms: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """One delivery as a channel's sender gets it. `idempotency_key` is the same on every
    attempt of the delivery (an email's Message-ID), so the far end can drop a repeat.
    `attempts` counts this one (above 1, an earlier attempt may have reached the provider);
    `queued_at` is when the delivery entered the queue."""

    delivery_id: UUID
    channel: Channel
    address: str
    content: bytes
    idempotency_key: str
    attempts: int
    queued_at: datetime


class DeliveryFailed(Exception):
    """A channel could not hand the message over; the delivery is tried again later, unless
    the failure is `permanent` (the provider refused the message itself, say an invalid
    number): then the delivery is dead at once, as another try would get the same answer."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    """A channel's way out (SMTP for email, the SMS provider for SMS)."""

    async def send(self, message: OutgoingMessage) -> str:
        """Hand the message over; the provider's id for it. Raises DeliveryFailed."""
        ...


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff with full jitter: after the n-th failed attempt, the next one comes
    a random time between 0 and min(cap, base·2ⁿ⁻¹) later, so replicas and deliveries that
    failed together do not retry together. Retries go on for `max_age` from when the delivery
    was queued (minutes of provider outage lose nothing); a delivery that fails after that is
    dead."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.base <= self.cap:
            raise ValueError("a retry schedule needs 0 < base <= cap")

    def ceiling(self, attempts: int) -> timedelta:
        """The longest wait after `attempts` failed attempts (at least one)."""
        ceiling = self.base
        # Doubling stops at the cap: 2**attempts would overflow a timedelta after a day of retries.
        for _ in range(attempts - 1):
            if ceiling >= self.cap:
                break
            ceiling *= 2
        return min(ceiling, self.cap)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        return self.ceiling(attempts) * rng.random()

    def gives_up(self, *, queued_at: datetime, failed_at: datetime) -> bool:
        return failed_at - queued_at >= self.max_age


def storable(value: Any) -> Any:
    """`value` with every NUL character taken out of its strings, however deeply nested:
    PostgreSQL's text and JSONB cannot hold one, and a NUL in a listing's title must not stop
    the notification it appears in."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
