from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.inventory.db import Base


class SeatHold(Base):
    """The durable record of a hold; Redis has the live count, this is what rebuilds it."""

    __tablename__ = "seat_hold"
    __table_args__ = (
        Index("ix_seat_hold_active_expires_at", "expires_at", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    slot_id: Mapped[UUID] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[UUID] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    holder_id: Mapped[UUID] = mapped_column(index=True)
    adults: Mapped[int]
    children: Mapped[int]
    infants: Mapped[int]
    seats: Mapped[int]
    quote: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # active → released | expired | confirmed
    status: Mapped[str] = mapped_column(String(20), default="active")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    booking_id: Mapped[UUID | None]
