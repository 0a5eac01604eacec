"""The Stripe webhooks' Prometheus series, in the app's own registry (`shared.metrics.AppMetrics`)."""

from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics import session_metrics

WebhookOutcome = Literal["processed", "ignored", "duplicate", "invalid"]
# An event whose signature does not verify is not read: its type is not to be trusted.
UNVERIFIED_TYPE = "unverified"


@dataclass(frozen=True)
class StripeWebhookMetrics:
    received: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "StripeWebhookMetrics":
        return cls(
            received=Counter(
                "payment_stripe_webhooks_total",
                "Stripe webhooks by event type and outcome: processed, ignored (a type payment "
                "does not act on), duplicate (handled before), invalid (bad signature).",
                ["type", "outcome"],
                registry=registry,
            )
        )


def count_webhook(session: AsyncSession, *, event_type: str, outcome: WebhookOutcome) -> None:
    """Count a webhook answered (its work, if any, already committed)."""
    metrics = session_metrics(session, StripeWebhookMetrics.register)
    if metrics is not None:
        metrics.received.labels(event_type, outcome).inc()
