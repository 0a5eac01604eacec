"""Events of affiliate links, published on booking.events keyed by link code."""

from datetime import datetime
from uuid import UUID

from shared.events.envelope import EventPayload, register_event


@register_event("booking.affiliate_link_clicked", version=1)
class AffiliateLinkClicked(EventPayload):
    code: str
    partner: str
    listing_id: UUID
    clicked_at: datetime
