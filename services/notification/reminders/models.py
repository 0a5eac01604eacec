from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class ScheduledReminder(Base):
    """A message to send at a time to come about a booking: one of each kind per booking."""

    __tablename__ = "scheduled_reminder"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind"),
        # What the reminder job polls: the pending reminders by when they are due.
        Index("ix_scheduled_reminder_due", "due_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    booking_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(40))
    traveler_id: Mapped[UUID]
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The confirmed booking as its event had it, to write the reminder from; None for a
    # booking known only by its cancellation.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it was sent, cancelled or found missed.
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
