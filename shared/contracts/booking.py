"""Events booking publishes on booking.events.

Readers ignore fields they do not know, so booking may add an optional field without a new
version; anything else is a new version registered beside the old one (see the README).
"""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventPayload, register_event

# Bookings, keyed by booking id.


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
    # The number as the traveler typed it (notification reads it into E.164), for an SMS.
    contact_phone: str | None = None


class UnpaidBookingFacts(EventPayload):
    """What a message to the traveler about a booking that was never paid says. Absent from
    events written before they were carried."""

    reference: str | None = None
    traveler_id: UUID | None = None
    provider_id: UUID | None = None
    listing_id: UUID | None = None
    listing_title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str | None = None
    seats: int | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    # The number as the traveler typed it (notification reads it into E.164), for an SMS.
    contact_phone: str | None = None
    total: Decimal | None = None
    # What the traveler was asked to pay at checkout (a deposit's share, or the total).
    amount_due: Decimal | None = None
    currency: str | None = None


@register_event("booking.payment_failed", version=1)
class BookingPaymentFailed(UnpaidBookingFacts):
    """The checkout's payment failed (the card was declined): the booking is over and its hold
    is released."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID
    # Stripe's decline code or message, as payment reported it.
    reason: str | None = None
    failed_at: datetime | None = None


@register_event("booking.expired", version=1)
class BookingExpired(UnpaidBookingFacts):
    """The hold ran out before the booking was paid."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID | None = None
    expired_at: datetime | None = None


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


# booking.cancelled's `reason` when booking cancels a deposit booking whose balance stayed unpaid
# after its last charge attempt (`cancelled_by` is then the traveler): the one cancellation that
# no person asked for, told apart by this reason.
UNPAID_BALANCE_REASON = "balance unpaid"


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
    # The number as the traveler typed it (notification reads it into E.164), for an SMS.
    contact_phone: str | None = None
    # Set when a blackout of the date cancelled it (`cancelled_by` is then the provider, and
    # `reason` says the date was blacked out and why): the provider's own reason, as they gave it.
    blackout_id: UUID | None = None
    blackout_reason: str | None = None


@register_event("booking.refund_completed", version=1)
class BookingRefundCompleted(EventPayload):
    """Money went back to the traveler: payment refunded `amount` (to their card, or to their
    credit). One event per refund, whatever decided it (a cancellation, a change, a lapsed
    hold's late payment)."""

    booking_id: UUID
    reference: str
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    listing_title: str
    starts_at: datetime
    timezone: str
    contact_name: str
    contact_email: str
    contact_phone: str | None = None
    amount: Decimal
    currency: str
    # "card" or "credit"; None when payment's event did not say.
    refunded_to: str | None = None
    # Payment's name for the refund: the same refund reported twice is one refund.
    refund_id: str
    payment_intent_id: str
    # When payment made the refund.
    refunded_at: datetime


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
    model_config = ConfigDict(frozen=True, extra="ignore")

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


@register_event("booking.waitlist_offered", version=1)
class WaitlistOffered(EventPayload):
    """Seats are held for a waitlist entry until `offer_expires_at`: the traveler books from
    `hold_id` (POST /bookings) before then, or the offer moves on. Keyed by entry id."""

    entry_id: UUID
    traveler_id: UUID
    # The traveler's account email when they joined; None for entries made before it was kept.
    traveler_email: str | None
    listing_id: UUID
    # None only for an offer inventory held before it said the title, on an entry made before
    # booking kept it.
    listing_title: str | None
    local_date: date
    party_size: int
    hold_id: UUID
    slot_id: UUID
    seats: int
    # The held slot's start and the listing's time zone, when inventory said them.
    starts_at: datetime | None = None
    timezone: str | None = None
    offer_expires_at: datetime
    offered_at: datetime


# Deposit bookings' balances, keyed by booking id.


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


# Modifications, keyed by booking id.


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


# Booking requests, keyed by request id. Each carries what notification writes to the traveler and the
# provider, and what analytics counts (response times from `requested_at` to `responded_at`, amounts).


class RequestFacts(EventPayload):
    """What every booking request event carries."""

    request_id: UUID
    traveler_id: UUID
    # The traveler's account email, where every answer to them goes: the contact below is
    # whatever they typed, for the provider, and is never written to. None in events from
    # before it was carried.
    traveler_email: str | None = None
    provider_id: UUID
    # None for listings made before the provider's email was recorded: no email then.
    provider_email: str | None
    listing_id: UUID
    listing_title: str
    slot_id: UUID
    starts_at: datetime
    timezone: str
    seats: int
    contact_name: str
    contact_email: str
    requested_at: datetime


@register_event("booking_request.created", version=1)
class BookingRequestCreated(RequestFacts):
    adults: int
    children: int
    infants: int
    message: str | None
    # The quote's total when the request was made; none for listings priced case by case.
    estimated_total: Decimal | None
    currency: str
    expires_at: datetime


@register_event("booking_request.provider_reminded", version=1)
class BookingRequestProviderReminded(RequestFacts):
    """The request has waited a day for its provider."""

    expires_at: datetime


@register_event("booking_request.provider_warned", version=1)
class BookingRequestProviderWarned(RequestFacts):
    """The last warning: the request expires soon unanswered."""

    expires_at: datetime


class BookingToPay(RequestFacts):
    """An accepted request's booking, waiting for the traveler's payment until `pay_by`."""

    booking_id: UUID
    reference: str
    booking_starts_at: datetime
    total: Decimal
    currency: str
    pay_by: datetime
    responded_at: datetime


@register_event("booking_request.accepted", version=1)
class BookingRequestAccepted(BookingToPay):
    """The provider accepted the request as asked."""


@register_event("booking_request.counter_accepted", version=1)
class BookingRequestCounterAccepted(BookingToPay):
    """The traveler accepted the provider's counter-offer."""

    counter_accepted_at: datetime


class Alternative(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    slot_id: UUID
    date: date
    start_time: str
    available: int
    # An adult's price on that slot, in the request's currency.
    unit_price: Decimal | None


@register_event("booking_request.declined", version=1)
class BookingRequestDeclined(RequestFacts):
    reason: str | None
    alternatives: list[Alternative]
    currency: str
    responded_at: datetime


@register_event("booking_request.countered", version=1)
class BookingRequestCountered(RequestFacts):
    counter_slot_id: UUID
    counter_starts_at: datetime
    # The countered total; none when the counter keeps the slot's listed price.
    counter_price: Decimal | None
    currency: str
    counter_message: str
    # Until when the traveler may accept it.
    expires_at: datetime
    responded_at: datetime


@register_event("booking_request.expired", version=1)
class BookingRequestExpired(RequestFacts):
    """Unanswered at its deadline: declined by the platform on the provider's behalf."""

    expired_at: datetime


@register_event("booking_request.counter_lapsed", version=1)
class BookingRequestCounterLapsed(RequestFacts):
    """The traveler did not accept the counter-offer in time."""

    lapsed_at: datetime


@register_event("booking_request.cancelled", version=1)
class BookingRequestCancelled(RequestFacts):
    """The traveler withdrew the request."""

    reason: str | None
    cancelled_at: datetime


# Expert handoffs, keyed by handoff id.


class HandoffEvent(EventPayload):
    """What every move of a handoff carries: whose trip, which expert, and when."""

    handoff_id: UUID
    traveler_id: UUID
    expert_id: UUID
    at: datetime


@register_event("expert_handoff.requested", version=1)
class HandoffRequested(HandoffEvent):
    """A traveler asks the expert to plan their trip. The trip's facts are absent from events
    written before they were carried."""

    # The traveler's account email (booking knows no name for them).
    traveler_email: str | None = None
    description: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: Decimal | None = None
    currency: str | None = None


@register_event("expert_handoff.accepted", version=1)
class HandoffAccepted(HandoffEvent):
    fee_percentage: Decimal


@register_event("expert_handoff.declined", version=1)
class HandoffDeclined(HandoffEvent):
    reason: str | None


@register_event("expert_handoff.completed", version=1)
class HandoffCompleted(HandoffEvent):
    pass


@register_event("expert_handoff.approved", version=1)
class HandoffApproved(HandoffEvent):
    pass


@register_event("expert_handoff.cancelled", version=1)
class HandoffCancelled(HandoffEvent):
    reason: str | None


@register_event("expert_handoff.booked_on_behalf", version=1)
class BookedOnBehalf(HandoffEvent):
    """An expert booked for the traveler under their grant; `expert_fee` is the expert's share
    of the booking's total, for payment to split off once it is paid."""

    grant_id: UUID
    booking_id: UUID
    reference: str
    listing_title: str
    starts_at: datetime
    timezone: str
    # The traveler's own address, told of every booking made on their card.
    traveler_email: str
    total: Decimal
    expert_fee: Decimal
    fee_percentage: Decimal
    currency: str


# Affiliate links, keyed by link code.


@register_event("booking.affiliate_link_clicked", version=1)
class AffiliateLinkClicked(EventPayload):
    code: str
    partner: str
    listing_id: UUID
    clicked_at: datetime
