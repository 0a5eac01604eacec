"""Payments' and refunds' Prometheus series, in the app's own registry
(`shared.metrics.AppMetrics`), reached through the session the work runs in."""

from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics import count_on_commit, session_metrics

Outcome = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class PaymentMetrics:
    payments: Counter
    refunds: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "PaymentMetrics":
        return cls(
            payments=Counter(
                "payment_payments_total",
                "Payments by outcome: succeeded (captured), failed (declined, as Stripe reported).",
                ["outcome"],
                registry=registry,
            ),
            refunds=Counter(
                "payment_refunds_total",
                "Refunds by outcome: succeeded (to the card or to credit), failed (a refund call "
                "Stripe refused, tried again later).",
                ["outcome"],
                registry=registry,
            ),
        )


def count_payment(session: AsyncSession, outcome: Outcome) -> None:
    """Count a payment's outcome once the session's transaction commits."""
    metrics = session_metrics(session, PaymentMetrics.register)
    if metrics is not None:
        count_on_commit(session, metrics.payments.labels(outcome).inc)


def count_refund(session: AsyncSession, outcome: Outcome) -> None:
    """Count a refund's outcome once the session's transaction commits."""
    metrics = session_metrics(session, PaymentMetrics.register)
    if metrics is not None:
        count_on_commit(session, metrics.refunds.labels(outcome).inc)
