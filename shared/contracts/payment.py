"""Events payment publishes on payment.events, keyed by booking id."""

from decimal import Decimal
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("payment.succeeded", version=1)
class PaymentSucceeded(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    purpose: str
    amount: Decimal
    platform_fee: Decimal
    currency: str


@register_event("payment.failed", version=1)
class PaymentFailed(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    reason: str
    # Added after the first events of this type: those carry none.
    purpose: str | None = None


@register_event("payment.refunded", version=1)
class PaymentRefunded(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    amount: Decimal
    currency: str
