"""Events of bookings, published on booking.events keyed by booking id."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventPayload, register_event


@register_event("booking.created", version=1)
class BookingCreated(EventPayload):
    booking_id: UUID
    reference: str
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    slot_id: UUID
    hold_id: UUID
    seats: int
    total: Decimal
    currency: str


@register_event("booking.payment_received", version=1)
class BookingPaymentReceived(EventPayload):
    """Paid: inventory is asked to turn the hold into confirmed seats."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID
    seats: int


@register_event("booking.confirmed", version=1)
class BookingConfirmed(EventPayload):
    booking_id: UUID
    reference: str
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    listing_title: str
    category: str
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    seats: int
    total: Decimal
    platform_fee: Decimal
    currency: str
    contact_name: str
    contact_email: str
    confirmed_at: datetime


@register_event("booking.payment_failed", version=1)
class BookingPaymentFailed(EventPayload):
    booking_id: UUID
    hold_id: UUID
    slot_id: UUID


@register_event("booking.expired", version=1)
class BookingExpired(EventPayload):
    booking_id: UUID
    hold_id: UUID


@register_event("booking.refund_requested", version=1)
class BookingRefundRequested(EventPayload):
    """Payment gives `amount` back from the booking's payments (its own, a modification's, or
    the named intent, which a cart's bookings share), newest first. `reason` names the
    decision, so each is refunded once."""

    booking_id: UUID
    amount: Decimal
    currency: str
    reason: str
    payment_intent_id: str | None = None


@register_event("booking.seats_released", version=1)
class BookingSeatsReleased(EventPayload):
    """A confirmed booking no longer needs its seats (cancelled, or moved to another slot):
    inventory puts them back on sale."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID
    seats: int
    reason: str


@register_event("booking.cancelled", version=1)
class BookingCancelled(EventPayload):
    """A booking was cancelled by its traveler or its provider; `refund` goes back to the
    traveler's card and `credit` to their account."""

    booking_id: UUID
    reference: str
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    listing_title: str
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    seats: int
    contact_name: str
    contact_email: str
    cancelled_by: str
    reason: str
    # Whether it had been confirmed (its calendar invite sent) and paid.
    was_confirmed: bool
    was_paid: bool
    refund: Decimal
    credit: Decimal
    currency: str
    cancelled_at: datetime
    # The calendar invite's SEQUENCE for the cancellation: above the confirmation's and changes'.
    calendar_sequence: int = 1


@register_event("booking.completed", version=1)
class BookingCompleted(EventPayload):
    """The slot has ended with the booking confirmed: it happened."""

    booking_id: UUID
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    completed_at: datetime


@register_event("booking.no_show", version=1)
class BookingNoShow(EventPayload):
    """The provider reports that the traveler did not turn up; nothing is refunded."""

    booking_id: UUID
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    reported_by: UUID
    reported_at: datetime


class WaitlistCandidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: UUID
    traveler_id: UUID
    party_size: int


@register_event("booking.waitlist_offer_requested", version=1)
class WaitlistOfferRequested(EventPayload):
    """Seats came free on a listing's date: inventory holds them, for `claim_seconds`, for the
    first candidate (in this order) whose party fits."""

    listing_id: UUID
    local_date: date
    claim_seconds: int
    candidates: list[WaitlistCandidate]
