from datetime import date
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("inventory.slots_blacked_out", version=1)
class SlotsBlackedOut(EventPayload):
    """Slots closed by a blackout. Those in `slots_with_bookings` had confirmed seats: booking
    cancels those bookings on the provider's account."""

    blackout_id: UUID
    listing_id: UUID | None
    start_date: date
    end_date: date
    reason: str
    slots_closed: list[UUID]
    slots_with_bookings: list[UUID]
