"""What booking sends to providers' and admins' webhook endpoints, and what it tells when it
stops sending to one.

`WebhookEvent` is the body of every webhook request. `id` is the event's id, the same on every
retry and redelivery (receivers dedupe by it, also sent as the `Webhook-Id` header); `type` is
one of `WEBHOOK_EVENT_TYPES`; `version` is the version of the platform event `data` is built
from (a breaking change to that event is a new version here too); `data` is that event's
payload, with `change` (availability) or `answer` (requests) naming which one it was.
"""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventPayload, register_event

WebhookEventType = Literal[
    "booking.created",
    "booking.confirmed",
    "booking.cancelled",
    "booking.changed",
    "request.created",
    "request.answered",
    "availability.changed",
]

WEBHOOK_EVENT_TYPES: tuple[WebhookEventType, ...] = (
    "booking.created",
    "booking.confirmed",
    "booking.cancelled",
    "booking.changed",
    "request.created",
    "request.answered",
    "availability.changed",
)


class WebhookEvent(BaseModel):
    """The body of a webhook request."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID
    type: WebhookEventType
    version: int
    created_at: datetime
    data: dict[str, Any]


@register_event("webhook.subscription_disabled", version=1)
class WebhookSubscriptionDisabled(EventPayload):
    """A subscription's endpoint kept failing, so nothing more is sent to it until its owner
    asks for a redelivery. Keyed by subscription id."""

    subscription_id: UUID
    owner_id: UUID
    url: str
    reason: str
    failed_deliveries: int
    failing_since: datetime | None
    disabled_at: datetime
