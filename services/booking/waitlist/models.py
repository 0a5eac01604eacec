from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Date, DateTime, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base


class WaitlistEntry(Base):
    """A traveler waiting for seats on a listing's date. waiting → offered (a hold for the
    claim window) → claimed (booked from it) or lapsed (the hold ended unclaimed)."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        Index("ix_waitlist_entry_listing_id_local_date_status", "listing_id", "local_date", "status"),
        # Fair use: one entry per traveler per listing and date, so nobody queues twice for seats.
        UniqueConstraint("traveler_id", "listing_id", "local_date"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    listing_id: Mapped[UUID]
    local_date: Mapped[date] = mapped_column(Date)
    party_size: Mapped[int]
    # Kept when the entry is made, for the message that offers it seats (none on older entries).
    traveler_email: Mapped[str | None] = mapped_column(String(320))
    listing_title: Mapped[str | None] = mapped_column(String(200))
    # Higher first, then first come; every entry joins at 0 (ops may raise one).
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    hold_id: Mapped[UUID | None] = mapped_column(unique=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
