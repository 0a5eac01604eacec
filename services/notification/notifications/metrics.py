"""The delivery worker's Prometheus series, in the app's own registry (`shared.metrics.AppMetrics`)."""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class DeliveryMetrics:
    attempts: Counter
    dead: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "DeliveryMetrics":
        return cls(
            attempts=Counter(
                "notification_delivery_attempts_total",
                "Delivery attempts, by channel and outcome (sent, failed).",
                ["channel", "outcome"],
                registry=registry,
            ),
            dead=Counter(
                "notification_deliveries_dead_total",
                "Deliveries given up after their retry window: they need an admin's resend.",
                ["channel", "kind"],
                registry=registry,
            ),
        )
