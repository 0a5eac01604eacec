"""Events of booking requests, published on booking.events keyed by request id. Each carries
what notification writes to the traveler and the provider, and what analytics counts
(response times from `requested_at` to `responded_at`, amounts)."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventPayload, register_event


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
    model_config = ConfigDict(frozen=True, extra="forbid")

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
