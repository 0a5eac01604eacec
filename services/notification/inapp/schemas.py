from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from services.notification.notifications.domain import NotificationKind, SubjectType


class SubjectOut(BaseModel):
    """What a notification is about: a booking, a booking request, the account."""

    type: SubjectType
    id: UUID | None


class NotificationOut(BaseModel):
    id: UUID
    kind: NotificationKind
    title: str
    summary: str
    subject: SubjectOut
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class UnreadCountOut(BaseModel):
    unread_count: int


class MarkedReadOut(BaseModel):
    """How many notifications this marked read (those read before are not counted again)."""

    marked_read: int
    unread_count: int


class NotificationPushed(BaseModel):
    """A message of `WS /ws/notifications`: a new in-app notification of the subscriber's."""

    type: Literal["notification.created"] = "notification.created"
    notification: NotificationOut
