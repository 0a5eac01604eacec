import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.booking.bookings.schemas import Contact, Money
from shared.times import LocalTimes

MAX_PARTY = 50


class BookingRequestCreate(BaseModel):
    """A party asking for a slot of a listing booked on request."""

    model_config = ConfigDict(extra="forbid")

    slot_id: UUID
    adults: int = Field(default=1, ge=1, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)
    message: str | None = Field(default=None, max_length=2000)
    contact: Contact

    @model_validator(mode="after")
    def _not_too_many(self) -> "BookingRequestCreate":
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        return self


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class CounterOfferCreate(BaseModel):
    """Another date and/or time of the listing, and/or another total price for the party."""

    model_config = ConfigDict(extra="forbid")

    date: datetime.date | None = None
    start_time: datetime.time | None = None
    price: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), decimal_places=2)
    message: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _offers_something(self) -> "CounterOfferCreate":
        if self.date is None and self.start_time is None and self.price is None:
            raise ValueError("a counter-offer changes the date, the start time or the price")
        return self


class CancelBookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class AlternativeSlot(LocalTimes):
    """Another open slot of the listing, offered with a declined request."""

    model_config = ConfigDict(frozen=True)

    slot_id: UUID
    date: datetime.date
    start_time: str
    end_time: str
    available: int
    # An adult's price on that slot (the booking's, for listings priced per booking).
    unit_price: Money | None


class CounterOfferOut(LocalTimes):
    """The slot the provider offers instead, its times in the listing's zone too."""

    slot_id: UUID
    # None: the listed price of the slot.
    price: Money | None
    message: str


class BookingRequestOut(LocalTimes):
    """A request; its slot's start and end in UTC and in the listing's zone (`timezone`)."""

    id: UUID
    status: str
    status_reason: str | None
    traveler_id: UUID
    provider_id: UUID
    listing_id: UUID
    listing_title: str
    slot_id: UUID
    adults: int
    children: int
    infants: int
    seats: int
    message: str | None
    contact: dict[str, Any]
    # What inventory priced the party at when the request was made: `quote`, or for a listing
    # priced case by case the `estimate` range.
    price_estimate: dict[str, Any]
    requested_at: datetime.datetime
    # Until when the side whose turn it is may answer.
    expires_at: datetime.datetime
    responded_at: datetime.datetime | None
    alternatives: list[AlternativeSlot] | None
    counter_offer: CounterOfferOut | None
    # Accepted: the booking to pay (GET /bookings/{id} has its payment).
    booking_id: UUID | None


class BookingRequestPage(BaseModel):
    items: list[BookingRequestOut]
    next_cursor: str | None
