from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Date, DateTime, Index, Integer, PrimaryKeyConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base


class SlotOccupancy(Base):
    """A slot that sold seats, as inventory's sales and returns tell it: seats sold (confirmed
    less returned) and the capacity it sells from, as the latest of those events said it (at
    `capacity_as_of`). Date, start and capacity are null until an event that carries them comes."""

    __tablename__ = "slot_occupancy"
    __table_args__ = (
        Index("ix_slot_occupancy_listing_id_local_date", "listing_id", "local_date"),
        Index("ix_slot_occupancy_local_date_starts_at", "local_date", "starts_at", "slot_id"),
    )

    slot_id: Mapped[UUID] = mapped_column(primary_key=True)
    listing_id: Mapped[UUID]
    local_date: Mapped[date | None] = mapped_column(Date)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int | None]
    capacity_per_day: Mapped[bool | None]
    capacity_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seats_sold: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class SeatChange(Base):
    """Each sale (`confirmed`) or return (`returned`) of a hold's seats, counted once."""

    __tablename__ = "seat_change"
    __table_args__ = (PrimaryKeyConstraint("hold_id", "change"),)

    hold_id: Mapped[UUID]
    change: Mapped[str] = mapped_column(String(10))
    slot_id: Mapped[UUID]
    seats: Mapped[int]
