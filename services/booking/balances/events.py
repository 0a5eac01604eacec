"""Events of deposit bookings' balances, published on booking.events keyed by booking id."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("booking.balance_charge_failed", version=1)
class BookingBalanceChargeFailed(EventPayload):
    """A scheduled charge of the balance to the saved card failed; it is tried again at
    `next_attempt_at` unless the traveler pays it first (POST /bookings/{id}/pay-balance)."""

    booking_id: UUID
    reference: str
    traveler_id: UUID
    listing_title: str
    starts_at: datetime
    timezone: str
    contact_name: str
    contact_email: str
    amount: Decimal
    currency: str
    reason: str
    attempt: int
    attempts_left: int
    next_attempt_at: datetime
