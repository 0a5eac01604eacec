"""The bookings' Prometheus series, in the app's own registry (`shared.metrics.AppMetrics`),
reached through the session the booking's work runs in."""

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics import count_on_commit, session_metrics


@dataclass(frozen=True)
class BookingMetrics:
    entered: Counter
    payment_confirmation: Histogram

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "BookingMetrics":
        return cls(
            entered=Counter(
                "booking_bookings_total",
                "Bookings entering a status (pending_payment when made, then each move).",
                ["status"],
                registry=registry,
            ),
            payment_confirmation=Histogram(
                "booking_payment_confirmation_seconds",
                "From payment's receipt of the successful payment (its event's time) to the booking confirmed.",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
                registry=registry,
            ),
        )


def count_status(session: AsyncSession, status: str) -> None:
    """Count a booking entering `status` once the session's transaction commits."""
    metrics = session_metrics(session, BookingMetrics.register)
    if metrics is not None:
        count_on_commit(session, metrics.entered.labels(status).inc)


def time_confirmation(session: AsyncSession, *, payment_received_at: datetime, confirmed_at: datetime) -> None:
    """Record how long a paid booking took to confirm, once the confirmation commits. The two
    times come from different services' clocks: a skew that puts them backwards counts as 0."""
    metrics = session_metrics(session, BookingMetrics.register)
    if metrics is not None:
        seconds = max((confirmed_at - payment_received_at).total_seconds(), 0.0)
        count_on_commit(session, lambda: metrics.payment_confirmation.observe(seconds))
