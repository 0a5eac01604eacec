from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.inventory.db import Base
from shared.db import MoneyAmount


class Schedule(Base):
    """When a listing runs: a start time in the listing's timezone and a recurrence."""

    __tablename__ = "schedule"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    listing_id: Mapped[UUID] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int]
    recurrence: Mapped[str] = mapped_column(String(20))
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    # Seats per slot; none on listings whose capacity is per day (the day's pool has it).
    capacity: Mapped[int | None]
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    price_override: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DayPool(Base):
    """The seats of one date of a listing whose capacity is per day: every slot of that date
    sells from them. Like a slot's, `confirmed_seats` only grows within capacity."""

    __tablename__ = "day_pool"
    __table_args__ = (
        UniqueConstraint("listing_id", "local_date"),
        CheckConstraint("confirmed_seats >= 0 AND confirmed_seats <= capacity", name="seats_within_capacity"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    listing_id: Mapped[UUID] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int]
    confirmed_seats: Mapped[int] = mapped_column(default=0)


class Slot(Base):
    """One occurrence of a schedule: the seats PostgreSQL keeps the truth about.

    `confirmed_seats` only grows through a conditional update that keeps it within capacity;
    seats on hold live in Redis, with a durable record in `seat_hold`."""

    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("schedule_id", "starts_at"),
        Index("ix_slot_listing_id_local_date", "listing_id", "local_date"),
        CheckConstraint("confirmed_seats >= 0 AND confirmed_seats <= capacity", name="seats_within_capacity"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    listing_id: Mapped[UUID] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    schedule_id: Mapped[UUID] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int]
    confirmed_seats: Mapped[int] = mapped_column(default=0)
    price_override: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why it closed, so each cause reopens only its own: blackout, calendar, provider, schedule.
    closed_reason: Mapped[str | None] = mapped_column(String(20))
    # Set on listings whose capacity is per day: the slot then sells from its date's pool, and
    # its `capacity` mirrors the pool's.
    pool_id: Mapped[UUID | None] = mapped_column(ForeignKey("day_pool.id", ondelete="CASCADE"), index=True)

    @property
    def seat_pool_id(self) -> UUID:
        """What the slot's seats are counted on, in Redis and for the sale: its pool, or itself."""
        return self.pool_id or self.id
