from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.notification.notifications.domain import Channel, DeliveryState


class DeliveryOut(BaseModel):
    """A notification's delivery on one channel, as an admin sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    notification_id: UUID
    channel: Channel
    state: DeliveryState
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    provider_message_id: str | None
    sent_at: datetime | None
