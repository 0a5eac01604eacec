"""What booking sends to inventory's HTTP API and reads from it, while a person waits.

Inventory answers with these shapes (or subclasses of them); booking reads them. Readers ignore
fields they do not know, so inventory can add some (a hold's local times, say) before booking
reads them. Shapes only: the rules that check a provider's input stay in inventory, the rules
that apply a policy stay in booking.
"""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.times import LocalTimes


class InventoryShape(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimedShape(InventoryShape, LocalTimes):
    """Something that happens at a place: its start and end in UTC, the place's IANA zone, and
    (on output) the same start and end as that zone's local times."""


class RefundTier(InventoryShape):
    """Cancelled at least `min_days_before` days before the start, `refund_percent` of what
    was paid goes back."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    min_days_before: int
    refund_percent: Decimal


# The platform's policy, for a listing whose provider names none (stored as `{}`): 14 days or
# more before the start, everything back; 7 to 14 days, half; under 7 days, nothing.
PLATFORM_REFUND_TIERS = (
    RefundTier(min_days_before=14, refund_percent=Decimal(100)),
    RefundTier(min_days_before=7, refund_percent=Decimal(50)),
)


class CancellationPolicy(InventoryShape):
    """A listing's cancellation policy; a booking keeps the one it was made under."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tiers: tuple[RefundTier, ...] = PLATFORM_REFUND_TIERS


class QuoteLine(InventoryShape):
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class Quote(InventoryShape):
    subtotal: Decimal
    taxes: Decimal
    total: Decimal
    currency: str
    # Which rule set the unit price; holds placed before it was recorded have none.
    basis: str | None = None
    lines: list[QuoteLine]


class Estimate(InventoryShape):
    min_total: Decimal
    max_total: Decimal
    currency: str


class SlotQuote(InventoryShape):
    """A priced quote, or for a quote-only listing the estimated range the provider gives."""

    quote: Quote | None
    estimate: Estimate | None


class Party(InventoryShape):
    adults: int = 1
    children: int = 0
    infants: int = 0


class HoldPlacement(Party):
    """`POST /holds`: the caller's own hold of a party's seats on a slot."""

    slot_id: UUID


class HoldPlacementFor(Party):
    """`POST /internal/holds`: seats another service holds for a traveler (an accepted booking
    request), whatever the listing's booking mode. The caller names the hold, so a retry finds
    the one it placed."""

    hold_id: UUID
    slot_id: UUID
    holder_id: UUID
    # The payment window.
    ttl_seconds: int
    # A price the provider agreed to, for the whole party: it replaces the quote's total.
    agreed_total: Decimal | None = None


class Hold(TimedShape):
    id: UUID
    slot_id: UUID
    listing_id: UUID
    adults: int
    children: int
    infants: int
    seats: int
    status: str
    expires_at: datetime
    quote: Quote
    booking_id: UUID | None = None


class HoldDetails(Hold):
    """`GET /holds/{id}`: a hold with what a booking made from it needs to know about the
    slot and listing."""

    provider_id: UUID
    listing_title: str
    category: str
    cancellation_policy: CancellationPolicy


class ListingSummary(InventoryShape):
    """`GET /listings/{id}`, as booking and payment read it."""

    id: UUID
    provider_id: UUID
    title: str
    category: str
    city: str
    currency: str
    booking_mode: str
    max_party_size: int


class Price(InventoryShape):
    amount: Decimal
    currency: str


class PriceRange(InventoryShape):
    min: Decimal
    max: Decimal
    currency: str


class SlotAvailability(TimedShape):
    slot_id: UUID
    date: date
    start_time: str
    end_time: str
    capacity: int
    available: int
    # An adult's price that day (the booking's, for per-booking listings); a quote-only
    # listing has none and shows its estimated range per person instead.
    price: Price | None
    estimate: PriceRange | None = None


class OpenSlots(InventoryShape):
    """`GET /listings/{id}/open-slots`: the slots with seats for a party over a range of days,
    in time order."""

    # Read by its wire names, written by them too (`from` is a Python keyword).
    model_config = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    listing_id: UUID
    first: date = Field(alias="from")
    last: date = Field(alias="to")
    party_size: int
    slots: list[SlotAvailability]


class SlotForRequest(TimedShape):
    """`GET /internal/slots/{id}`: a slot as booking checks a party against it (it names the
    provider)."""

    slot_id: UUID
    listing_id: UUID
    provider_id: UUID
    provider_email: str | None
    listing_title: str
    category: str
    booking_mode: str
    currency: str
    date: date
    start_time: str
    # Whether seats of it can be held now: the listing on sale, the slot open and not started.
    on_sale: bool
    available: int
    price: SlotQuote
    # The listing's fair-use limit on one party.
    max_party_size: int
