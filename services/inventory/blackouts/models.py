from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.inventory.db import Base


class Blackout(Base):
    """Dates a listing (or, with no listing, every listing) does not run: a holiday,
    maintenance, the weather. A lifted blackout is kept, with when and by whom, as the record
    of what it did."""

    __tablename__ = "blackout"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="ends_after_start"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    listing_id: Mapped[UUID | None] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[UUID | None]


class BlackoutSlot(Base):
    """A slot a blackout took out, with what was taken on it at that moment: the bookings
    (paid, or held while being paid) that booking then cancels, and their seats."""

    __tablename__ = "blackout_slot"

    blackout_id: Mapped[UUID] = mapped_column(ForeignKey("blackout.id", ondelete="CASCADE"), primary_key=True)
    slot_id: Mapped[UUID] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"), primary_key=True, index=True)
    listing_id: Mapped[UUID] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bookings: Mapped[int]
    seats_taken: Mapped[int]
