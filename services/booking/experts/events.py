"""Events of expert handoffs, published on booking.events keyed by handoff id."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


class HandoffEvent(EventPayload):
    """What every move of a handoff carries: whose trip, which expert, and when."""

    handoff_id: UUID
    traveler_id: UUID
    expert_id: UUID
    at: datetime


@register_event("expert_handoff.requested", version=1)
class HandoffRequested(HandoffEvent):
    pass


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
