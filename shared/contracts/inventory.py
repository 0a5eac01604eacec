"""Events inventory publishes on inventory.events that other services act on."""

from datetime import date
from uuid import UUID

from pydantic import ConfigDict

from shared.events.envelope import EventPayload, register_event


@register_event("inventory.slots_blacked_out", version=1)
class SlotsBlackedOut(EventPayload):
    """A blackout took slots out: the day will not happen. Booking cancels every live booking
    on `slots_closed` as the provider's cancellation, with `reason`; `slots_with_bookings` are
    those of them that had seats sold or held when they closed."""

    # Read tolerantly: a producer may add fields before this reader knows them.
    model_config = ConfigDict(frozen=True, extra="ignore")

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
