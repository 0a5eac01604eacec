"""Events of modifications, published on booking.events keyed by booking id."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("booking.modified", version=1)
class BookingModified(EventPayload):
    """A booking now has another slot and/or party; its old seats went back on sale. Its total
    changed by `difference`: `charged` was paid for the change, `refunded` is going back, and
    `balance` is left to pay (charged from `balance_due_at`)."""

    booking_id: UUID
    modification_id: UUID
    reference: str
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    listing_title: str
    old_slot_id: UUID
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    seats: int
    total: Decimal
    difference: Decimal
    # Absent from events made before changes re-split deposits: the difference was then
    # charged or refunded whole.
    charged: Decimal | None = None
    refunded: Decimal | None = None
    balance: Decimal | None = None
    balance_due_at: datetime | None = None
    currency: str
    contact_name: str
    contact_email: str
    modified_at: datetime
    # The calendar invite's SEQUENCE: the confirmation's is 0, each applied change adds one.
    calendar_sequence: int


@register_event("booking.modification_failed", version=1)
class BookingModificationFailed(EventPayload):
    """A modification did not happen (unpaid in time, or the new seats were sold first); the
    booking stays as it was, and anything paid for it is refunded."""

    booking_id: UUID
    modification_id: UUID
    traveler_id: UUID
    reason: str
    refund: Decimal
    currency: str
    # The intent for the difference, if one was made and not paid: payment cancels it.
    payment_intent_id: str | None = None
