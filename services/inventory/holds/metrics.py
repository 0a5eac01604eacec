"""The holds' Prometheus series, in the app's own registry (`shared.metrics.AppMetrics`),
reached through the session the hold's work runs in."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.error_codes import SOLD_OUT
from shared.errors import AppError
from shared.metrics import count_on_commit, session_metrics

HoldOutcome = Literal["placed", "sold_out", "released", "expired", "converted"]


@dataclass(frozen=True)
class HoldMetrics:
    holds: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "HoldMetrics":
        return cls(
            holds=Counter(
                "inventory_holds_total",
                "Holds by outcome: placed, sold_out (refused for want of seats), released, expired, "
                "converted (its seats sold to a paid booking).",
                ["outcome"],
                registry=registry,
            )
        )


def count_hold(session: AsyncSession, outcome: HoldOutcome) -> None:
    """Count a hold's outcome once the session's transaction commits (the outcome's event is
    in it): a hold whose transaction rolls back is not counted."""
    metrics = session_metrics(session, HoldMetrics.register)
    if metrics is not None:
        count_on_commit(session, metrics.holds.labels(outcome).inc)


@contextmanager
def counting_sold_out(session: AsyncSession) -> Iterator[None]:
    """Count a request for seats refused as sold out (nothing is committed for it)."""
    try:
        yield
    except AppError as error:
        metrics = session_metrics(session, HoldMetrics.register)
        if error.error_code == SOLD_OUT.code and metrics is not None:
            metrics.holds.labels("sold_out").inc()
        raise
