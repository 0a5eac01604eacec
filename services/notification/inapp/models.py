from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class InAppNotification(Base):
    """A notification in its recipient's in-app feed, and whether they have read it. Written
    with the notification: in-app is delivered when it is recorded."""

    __tablename__ = "in_app_notification"
    __table_args__ = (
        # The feed, newest first.
        Index("ix_in_app_notification_feed", "user_id", "created_at", "notification_id"),
        # The unread count.
        Index("ix_in_app_notification_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    notification_id: Mapped[UUID] = mapped_column(ForeignKey("notification.id"), primary_key=True)
    user_id: Mapped[UUID]
    # One line on what it is about (the listing, when, the reference), from the event's facts.
    summary: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
