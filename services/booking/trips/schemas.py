import datetime
from decimal import Decimal
from typing import Any, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.booking.affiliate.domain import Partner
from services.booking.bookings.schemas import Money
from services.booking.carts.schemas import CheckoutOut
from services.booking.requests.schemas import MAX_PARTY
from services.booking.trips.domain import ItemType
from shared.money import CurrencyCode, exact_amount

# The longest trip planned day by day.
MAX_TRIP_DAYS = 90
MAX_ITEMS_PER_TRIP = 300

Title = Field(min_length=1, max_length=200)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone") from None
    return value


class _TripFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    def _check_dates(self, start: datetime.date | None, end: datetime.date | None) -> None:
        if start is None or end is None:
            return
        if end < start:
            raise ValueError("end_date is before start_date")
        if (end - start).days + 1 > MAX_TRIP_DAYS:
            raise ValueError(f"a trip is at most {MAX_TRIP_DAYS} days")


class TripCreate(_TripFields):
    title: str = Title
    destinations: list[str] = Field(default_factory=list, max_length=20)
    start_date: datetime.date
    end_date: datetime.date
    travelers: int = Field(default=1, ge=1, le=MAX_PARTY)
    experience_type: str | None = Field(default=None, min_length=1, max_length=50)
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, value: list[str]) -> list[str]:
        return _checked_destinations(value)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        self._check_dates(self.start_date, self.end_date)
        return self


class TripUpdate(_TripFields):
    """The fields given replace the trip's; dates are checked against its items' days."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    destinations: list[str] | None = Field(default=None, max_length=20)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    travelers: int | None = Field(default=None, ge=1, le=MAX_PARTY)
    experience_type: str | None = Field(default=None, min_length=1, max_length=50)
    timezone: str | None = Field(default=None, max_length=64)
    # The owner cancels the trip (it stays in their list; its bookings are cancelled one by one).
    status: Literal["cancelled"] | None = None

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _checked_destinations(value)

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        nullable = {"experience_type"}
        for name in self.model_fields_set - nullable:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def _checked_destinations(value: list[str]) -> list[str]:
    cleaned = [destination.strip() for destination in value]
    if any(not destination or len(destination) > 100 for destination in cleaned):
        raise ValueError("a destination is 1 to 100 characters")
    return cleaned


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adults: int = Field(default=1, ge=1, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)

    @model_validator(mode="after")
    def _not_too_many(self) -> Self:
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        return self


class _ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: int = Field(ge=1, le=MAX_TRIP_DAYS)
    order: int = Field(default=0, ge=0, le=1000)
    type: ItemType
    title: str = Title
    start_time: datetime.time | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    location: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=4000)
    price: Decimal | None = Field(default=None, ge=0, le=Decimal(1_000_000))
    currency: CurrencyCode | None = None
    # An estimate unless told it is the exact price.
    price_is_estimate: bool = True
    listing_id: UUID | None = None
    slot_id: UUID | None = None
    affiliate_partner: Partner | None = None
    # For everyone on the trip unless it names its own party.
    party: PartyIn | None = None


def _check_item(item: BaseModel, fields: set[str]) -> None:
    price, currency = getattr(item, "price", None), getattr(item, "currency", None)
    if {"price", "currency"} & fields and (price is None) != (currency is None):
        raise ValueError("price and currency come together")
    if price is not None and currency is not None:
        exact_amount(price, currency)
    if getattr(item, "affiliate_partner", None) is not None and getattr(item, "slot_id", None) is not None:
        raise ValueError("an item is booked through a slot or a partner, not both")
    if getattr(item, "affiliate_partner", None) is not None and getattr(item, "listing_id", None) is None:
        raise ValueError("a partner's item names the listing it offers")


class TripItemCreate(_ItemFields):
    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_item(self, set(self.model_fields_set) | {"price", "currency"})
        return self


class TripItemUpdate(BaseModel):
    """The fields given replace the item's; a link given anew is checked again."""

    model_config = ConfigDict(extra="forbid")

    day: int | None = Field(default=None, ge=1, le=MAX_TRIP_DAYS)
    order: int | None = Field(default=None, ge=0, le=1000)
    type: ItemType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    start_time: datetime.time | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    location: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=4000)
    price: Decimal | None = Field(default=None, ge=0, le=Decimal(1_000_000))
    currency: CurrencyCode | None = None
    price_is_estimate: bool | None = None
    listing_id: UUID | None = None
    slot_id: UUID | None = None
    affiliate_partner: Partner | None = None
    party: PartyIn | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in {"day", "order", "type", "title", "price_is_estimate"} & self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        _check_item(self, set(self.model_fields_set))
        return self


class TripItemOut(BaseModel):
    id: UUID
    trip_id: UUID
    day: int
    date: datetime.date
    order: int
    type: str
    title: str
    start_time: datetime.time | None
    duration_minutes: int | None
    location: str | None
    notes: str | None
    price: Money | None
    price_is_estimate: bool
    booking_mode: str
    # unbooked; external for a partner's item; then the status of what checkout made of it.
    booking_status: str
    status_changed_at: datetime.datetime | None
    listing_id: UUID | None
    slot_id: UUID | None
    party: dict[str, int] | None
    affiliate_partner: str | None
    # What the item is linked to.
    booking_id: UUID | None
    booking_request_id: UUID | None
    handoff_id: UUID | None
    affiliate_links: list[dict[str, Any]] | None
    added_by: str
    expert_id: UUID | None
    # An expert's item waits for the owner's approval before checkout books it.
    awaiting_approval: bool
    approved_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TripOut(BaseModel):
    id: UUID
    traveler_id: UUID
    title: str
    destinations: list[str]
    start_date: datetime.date
    end_date: datetime.date
    travelers: int
    experience_type: str | None
    timezone: str
    status: str
    # The expert handoffs that plan the trip, newest first.
    handoff_ids: list[UUID]
    checkout_cart_id: UUID | None
    items: list[TripItemOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TripPage(BaseModel):
    items: list[TripOut]
    next_cursor: str | None


class TripCheckoutOut(BaseModel):
    trip: TripOut
    checkout: CheckoutOut
