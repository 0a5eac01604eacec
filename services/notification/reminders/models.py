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
    # pending → sent (its notification recorded) | cancelled (the booking was, or a change moved
    # its start to less than 24 h away) | missed (its start passed before any job got to it). A
    # booking known only as cancelled (its cancellation read before its confirmation) gets a
    # `cancelled` row at once, so the confirmation schedules nothing.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it was sent, cancelled or found missed.
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
