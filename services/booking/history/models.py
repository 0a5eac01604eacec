from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base


class BookingChange(Base):
    """One change of a booking, written in the transaction that makes it: what changed (each
    field's old and new value), who made it and from where, and why."""

    __tablename__ = "booking_change"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[UUID] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(40))
    # `system` for what the platform does on its own (the payment saga, completion).
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[UUID | None]
    # Whom the actor acted for: the traveler an expert booked for.
    on_behalf_of: Mapped[UUID | None]
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
