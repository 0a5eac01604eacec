"""Webhooks, pure: which platform events become which webhook events, how a request is signed,
when a failed delivery is tried again, and which targets may be called.

Signing: every request carries `Webhook-Id` (the event id, the same on each retry) and
`Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the
subscription's secret>`. A receiver recomputes the HMAC over the raw body it got, compares with
`hmac.compare_digest`, refuses a `t` more than five minutes from its own clock (a replay), and
dedupes by `Webhook-Id` (deliveries are at least once). The README's "Webhooks" section has the
recipe in Python.

Retries: a delivery that does not get a 2xx is tried again after 30 s, doubling up to a cap
(four hours), each wait shortened by up to a fifth at random so endpoints that failed together
are not all retried together; past the retry window (24 h from its first try) it has failed.

Targets: only http(s) URLs without credentials, whose host resolves to public addresses only
(not private, loopback, link-local, multicast, reserved or unspecified), unless the settings
allow private targets (development and tests).
"""

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.contracts.webhooks import WebhookEventType

SIGNATURE_HEADER = "Webhook-Signature"
ID_HEADER = "Webhook-Id"
MAX_URL_LENGTH = 2000

# Platform event type → (webhook type, what `data` says it was under `change` or `answer`).
KINDS: dict[str, tuple[WebhookEventType, tuple[str, str] | None]] = {
    "booking.created": ("booking.created", None),
    "booking.confirmed": ("booking.confirmed", None),
    "booking.cancelled": ("booking.cancelled", None),
    "booking.modified": ("booking.changed", None),
    "booking_request.created": ("request.created", None),
    "booking_request.accepted": ("request.answered", ("answer", "accepted")),
    "booking_request.counter_accepted": ("request.answered", ("answer", "counter_accepted")),
    "booking_request.declined": ("request.answered", ("answer", "declined")),
    "booking_request.countered": ("request.answered", ("answer", "countered")),
    "inventory.hold_placed": ("availability.changed", ("change", "hold_placed")),
    "inventory.hold_released": ("availability.changed", ("change", "hold_released")),
    "inventory.hold_expired": ("availability.changed", ("change", "hold_expired")),
    "inventory.seats_confirmed": ("availability.changed", ("change", "seats_confirmed")),
    "inventory.seats_returned": ("availability.changed", ("change", "seats_returned")),
    "inventory.slots_blacked_out": ("availability.changed", ("change", "slots_blacked_out")),
}


# Not sent: a traveler's account email is theirs; the provider has the contact they gave.
WITHHELD = frozenset({"traveler_email"})


def webhook_data(source_type: str, payload: dict[str, Any]) -> tuple[WebhookEventType, dict[str, Any]]:
    """The webhook type of a platform event and the `data` it sends."""
    kind, marker = KINDS[source_type]
    data = {name: value for name, value in payload.items() if name not in WITHHELD}
    if marker is not None:
        data[marker[0]] = marker[1]
    return kind, data


def signature_header(secret: str, *, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class RetryPolicy:
    first_wait: timedelta = timedelta(seconds=30)
    max_wait: timedelta = timedelta(hours=4)
    window: timedelta = timedelta(hours=24)
    # The share of a wait that may be taken off at random.
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (timedelta(0) < self.first_wait <= self.max_wait) or not 0 <= self.jitter < 1:
            raise ValueError("retries need 0 < first_wait <= max_wait and 0 <= jitter < 1")

    def wait(self, attempts: int, *, draw: float) -> timedelta:
        """The wait after the `attempts`-th failed try; `draw` is a uniform number in [0, 1)."""
        doubled = self.first_wait.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 32)
        capped = min(doubled, self.max_wait.total_seconds())
        return timedelta(seconds=capped * (1 - self.jitter * draw))

    def next_attempt(self, attempts: int, *, retry_from: datetime, now: datetime, draw: float) -> datetime | None:
        """When to try again after the `attempts`-th failed try, or None: the window is over."""
        at = now + self.wait(attempts, draw=draw)
        return at if at - retry_from <= self.window else None


@dataclass(frozen=True)
class DisablePolicy:
    """A subscription is disabled after this many failed deliveries in a row, or when its
    endpoint has been failing for this long without a success."""

    failed_deliveries: int = 5
    failing_for: timedelta = timedelta(hours=72)

    def should_disable(self, *, failed_deliveries: int, failing_since: datetime | None, now: datetime) -> bool:
        return failed_deliveries >= self.failed_deliveries or (
            failing_since is not None and now - failing_since >= self.failing_for
        )


class UnsafeTarget(ValueError):
    """A URL booking refuses to call."""


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet: a target a webhook may reach."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def target_host(url: str) -> str:
    """The host of a URL a webhook may be sent to; raises UnsafeTarget for anything else."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise UnsafeTarget("the URL has whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises for a port that is not a number in range)
    except ValueError as error:
        raise UnsafeTarget(f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are called")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed: the signature proves the sender")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    return parts.hostname


def refuse_private(addresses: list[str]) -> None:
    """Raise UnsafeTarget unless every address a host resolved to is public."""
    if not addresses:
        raise UnsafeTarget("the host does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public_address(address):
            raise UnsafeTarget(f"the host resolves to a non-public address ({address})")
