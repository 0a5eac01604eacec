import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.booking.affiliate.domain import Partner
from services.booking.affiliate.schemas import AffiliateLinkOut
from services.booking.bookings.schemas import BookingOut, Contact, Money, PaymentOut
from services.booking.experts.schemas import HandoffOut, MoneyIn
from services.booking.requests.schemas import MAX_PARTY, BookingRequestOut


class _Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_id: UUID
    adults: int = Field(default=1, ge=1, le=MAX_PARTY)
    children: int = Field(default=0, ge=0, le=MAX_PARTY)
    infants: int = Field(default=0, ge=0, le=MAX_PARTY)

    @model_validator(mode="after")
    def _not_too_many(self) -> "_Party":
        if self.adults + self.children + self.infants > MAX_PARTY:
            raise ValueError(f"a party is at most {MAX_PARTY} people")
        return self


class InstantItem(_Party):
    """Seats on a slot of an instant listing: held and paid at checkout."""

    kind: Literal["instant"]


class RequestItem(_Party):
    """A slot of a listing booked on request: asked of the provider at checkout, paid later."""

    kind: Literal["request"]
    message: str | None = Field(default=None, max_length=2000)


class ExternalItem(BaseModel):
    """A listing booked with a partner: checkout gives its tracked links."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["external"]
    listing_id: UUID
    partner: Partner | None = None


class ExpertItem(BaseModel):
    """A trip for an expert to plan: handed over at checkout."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["expert"]
    expert_id: UUID
    description: str = Field(min_length=1, max_length=4000)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    budget: MoneyIn | None = None


CartItemIn = Annotated[InstantItem | RequestItem | ExternalItem | ExpertItem, Field(discriminator="kind")]


class CartItemOut(BaseModel):
    id: UUID
    kind: str
    details: dict[str, Any]
    outcome: dict[str, Any] | None
    created_at: datetime.datetime


class CartOut(BaseModel):
    id: UUID
    status: str
    items: list[CartItemOut]
    created_at: datetime.datetime
    checked_out_at: datetime.datetime | None


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: Contact
    special_requests: str | None = Field(default=None, max_length=2000)
    payment_option: Literal["full", "deposit"] = "full"

    @model_validator(mode="after")
    def _full_payment(self) -> "CheckoutRequest":
        if self.payment_option == "deposit":
            raise ValueError("a cart is paid in full; book an item on its own to pay a deposit")
        return self


class BookedItem(BaseModel):
    item_id: UUID
    booking: BookingOut


class RequestedItem(BaseModel):
    item_id: UUID
    request: BookingRequestOut


class LinkedItem(BaseModel):
    item_id: UUID
    links: list[AffiliateLinkOut]


class HandedOverItem(BaseModel):
    item_id: UUID
    handoff: HandoffOut


class UnavailableItem(BaseModel):
    """An item checkout could not turn into what it asked for; nothing is charged for it."""

    item_id: UUID
    kind: str
    error_code: str
    message: str
    details: dict[str, Any]


class CheckoutOut(BaseModel):
    cart_id: UUID
    bookings: list[BookedItem]
    requests: list[RequestedItem]
    links: list[LinkedItem]
    handoffs: list[HandedOverItem]
    unavailable: list[UnavailableItem]
    # Of the instant bookings, charged now as one payment; requests are paid once accepted.
    total: Money | None
    amount_due_now: Money | None
    platform_fee: Money | None
    payment: PaymentOut | None
