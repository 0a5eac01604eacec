"""Events inventory publishes on inventory.events: seat holds keyed by slot id, blackouts, and
listing views keyed by listing id.

Readers ignore fields they do not know, so inventory may add an optional field without a new
version; anything else is a new version registered beside the old one (see the README).
"""

from datetime import date, datetime
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("inventory.slots_blacked_out", version=1)
class SlotsBlackedOut(EventPayload):
    """A blackout took slots out: the day will not happen. Booking cancels every live booking
    on `slots_closed` as the provider's cancellation, with `reason`; `slots_with_bookings` are
    those of them that had seats sold or held when they closed."""

    blackout_id: UUID
    # None for a blackout of every listing (an admin's).
    listing_id: UUID | None
    start_date: date
    end_date: date
    reason: str
    # Who placed it: the listing's provider, or the admin of a blackout of every listing.
    created_by: UUID | None = None
    slots_closed: list[UUID]
    slots_with_bookings: list[UUID]


@register_event("inventory.hold_placed", version=1)
class HoldPlaced(EventPayload):
    """Seats held: by a traveler, for an accepted request, or for a waitlist entry."""

    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    holder_id: UUID
    seats: int
    expires_at: datetime
    total: str
    currency: str
    # The listing's provider, for analytics' funnel (absent from events written before it was carried).
    provider_id: UUID | None = None


class SeatsFreed(EventPayload):
    """What every event that puts seats back on sale carries besides its own fields."""

    # The slot's date, so the waitlist of that day can be offered the seats (absent from events
    # written before it was added).
    local_date: date | None = None


@register_event("inventory.hold_released", version=1)
class HoldReleased(SeatsFreed):
    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    seats: int


@register_event("inventory.seats_confirmed", version=1)
class SeatsConfirmed(EventPayload):
    """A paid booking's seats are sold: `late` when its hold had lapsed but they were still free."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    seats: int
    late: bool
    # What analytics' occupancy reads (absent from events written before they were carried):
    # the slot's start and local date, and the seats it is sold from once these are counted.
    starts_at: datetime | None = None
    local_date: date | None = None
    capacity: int | None = None
    # True when `capacity` is its date's, shared by every slot of the day (a listing whose
    # capacity is per day); False when it is the slot's own.
    capacity_per_day: bool | None = None


@register_event("inventory.seats_unavailable", version=1)
class SeatsUnavailable(EventPayload):
    """A paid booking's hold lapsed and its seats were sold to someone else."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID


@register_event("inventory.hold_expired", version=1)
class HoldExpired(SeatsFreed):
    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    seats: int


@register_event("inventory.seats_returned", version=1)
class SeatsReturned(SeatsFreed):
    """Confirmed seats are back on sale (the booking was cancelled or moved); the waitlist
    of the slot may be offered them."""

    booking_id: UUID
    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    seats: int
    available: int
    # As on inventory.seats_confirmed, for analytics' occupancy (absent from older events).
    starts_at: datetime | None = None
    capacity: int | None = None
    capacity_per_day: bool | None = None


@register_event("inventory.waitlist_hold_placed", version=1)
class WaitlistHoldPlaced(EventPayload):
    """Seats held for a waitlist entry for its claim window: the traveler books from the hold."""

    entry_id: UUID
    hold_id: UUID
    slot_id: UUID
    listing_id: UUID
    holder_id: UUID
    seats: int
    expires_at: datetime
    # The listing's title, the slot's start and the listing's time zone, for the traveler's
    # message (absent from events written before they were carried).
    listing_title: str | None = None
    starts_at: datetime | None = None
    timezone: str | None = None


@register_event("inventory.listing_views_counted", version=1)
class ListingViewsCounted(EventPayload):
    """How often a listing's page was read in one UTC hour, as far as one flush of the view
    counters knows: counts are kept per listing and hour and sent in batches, so an hour's
    views may come in several events, each to be added. Keyed by listing id."""

    listing_id: UUID
    provider_id: UUID
    # The start of the UTC hour the views were counted in.
    hour_start: datetime
    views: int
