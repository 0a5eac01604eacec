from datetime import datetime
from decimal import Decimal
from typing import Literal, Self
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.inventory.holds.schemas import MAX_PARTY
from services.inventory.listings.domain import DEFAULT_MAX_PARTY_SIZE, ListingCancellationPolicy, OpenDays
from services.inventory.pricing.domain import PricingRules, check_prices
from shared.contracts.inventory_api import ListingSummary
from shared.money import CurrencyCode, money

Category = Literal["activity", "tour", "accommodation", "transport", "meal", "package"]
BookingMode = Literal["instant", "request", "external"]
AvailabilityMode = Literal["calendar", "toggle", "inventory"]
CapacityPer = Literal["slot", "day"]

_TIMEZONES = frozenset(available_timezones())


def check_modes(
    pricing: PricingRules,
    booking_mode: str,
    availability_mode: str,
    open_days: object,
    capacity_per: str,
    day_capacity: int | None,
) -> None:
    """Rules that hold across fields, on create and after every change."""
    if pricing.quote_only and booking_mode != "request":
        raise ValueError("quote-only pricing is for listings booked on request")
    if open_days is not None and availability_mode != "calendar":
        raise ValueError("open_days apply to listings in calendar mode")
    if capacity_per == "day" and availability_mode != "inventory":
        raise ValueError("capacity per day is for listings in inventory mode")
    if (capacity_per == "day") != (day_capacity is not None):
        raise ValueError("day_capacity is given exactly when capacity_per is day")


class ListingFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    category: Category
    description: str = Field(default="", max_length=10_000)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: CurrencyCode
    booking_mode: BookingMode = "instant"
    availability_mode: AvailabilityMode = "inventory"
    base_price: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)
    pricing: PricingRules = PricingRules()
    # What travelers get back when they cancel; a booking keeps the policy it was made under.
    cancellation_policy: ListingCancellationPolicy = ListingCancellationPolicy()
    # Short holds suit flash sales; a day is the longest a seat can be kept off sale unpaid.
    hold_ttl_seconds: int = Field(default=900, ge=5, le=86_400)
    on_sale: bool = True
    open_days: OpenDays | None = None
    # Seats counted per slot, or per day: then every slot of a date sells from one pool of
    # `day_capacity` seats (a restaurant's covers, a pass valid all day), and schedules give
    # only the times. Fixed once the listing exists.
    capacity_per: CapacityPer = "slot"
    day_capacity: int | None = Field(default=None, ge=1, le=100_000)
    # The largest party one traveler may hold, book, request or wait for at a time, so that
    # nobody takes a whole slot in one go.
    max_party_size: int = Field(default=DEFAULT_MAX_PARTY_SIZE, ge=1, le=MAX_PARTY)

    @model_validator(mode="after")
    def _modes_fit(self) -> Self:
        check_modes(
            self.pricing,
            self.booking_mode,
            self.availability_mode,
            self.open_days,
            self.capacity_per,
            self.day_capacity,
        )
        check_prices(currency=self.currency, base_price=self.base_price, rules=self.pricing)
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in _TIMEZONES:
            raise ValueError("must be an IANA timezone such as Europe/Lisbon")
        return value


class ListingCreate(ListingFields):
    pass


class ListingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    base_price: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000"), decimal_places=2)
    pricing: PricingRules | None = None
    cancellation_policy: ListingCancellationPolicy | None = None
    hold_ttl_seconds: int | None = Field(default=None, ge=5, le=86_400)
    booking_mode: BookingMode | None = None
    availability_mode: AvailabilityMode | None = None
    on_sale: bool | None = None
    open_days: OpenDays | None = None
    # The pool of every future date; one date's alone is changed under /days/{date}.
    day_capacity: int | None = Field(default=None, ge=1, le=100_000)
    max_party_size: int | None = Field(default=None, ge=1, le=MAX_PARTY)

    @model_validator(mode="after")
    def _only_open_days_clear(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None and name != "open_days")
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class ListingOut(ListingFields, ListingSummary):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: UUID
    provider_id: UUID
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _in_the_currencys_digits(self) -> Self:
        self.base_price = money(self.base_price, self.currency)
        return self


class ListingPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None
