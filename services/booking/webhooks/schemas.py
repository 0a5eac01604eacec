from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.booking.webhooks.domain import MAX_URL_LENGTH, UnsafeTarget, target_host
from shared.contracts.webhooks import WebhookEventType


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    events: Annotated[list[WebhookEventType], Field(min_length=1, max_length=7)]
    description: str | None = Field(default=None, max_length=500)

    @field_validator("url")
    @classmethod
    def _a_url_booking_may_call(cls, value: str) -> str:
        try:
            target_host(value)
        except UnsafeTarget as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("events")
    @classmethod
    def _each_once(cls, value: list[WebhookEventType]) -> list[WebhookEventType]:
        return sorted(set(value))


class SubscriptionOut(BaseModel):
    id: UUID
    url: str
    events: list[str]
    description: str | None
    status: str
    failed_deliveries: int
    failing_since: datetime | None
    disabled_at: datetime | None
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    # Shown this once: the key to verify the `Webhook-Signature` of every request with.
    secret: str


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    id: UUID
    subscription_id: UUID
    event_id: UUID
    kind: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
