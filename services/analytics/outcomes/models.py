from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Date, DateTime, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base


class BookingOutcome(Base):
    """One booking's facts for the cancellation and no-show report (see domain.BookingOutcomeFacts):
    where it counts (as of `placed_at`), whether it was confirmed, and how it ended (as of `ended_at`)."""

    __tablename__ = "booking_outcome"

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID | None]
    listing_id: Mapped[UUID | None]
    service_date: Mapped[date | None] = mapped_column(Date)
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed: Mapped[bool]
    outcome: Mapped[str] = mapped_column(String(30))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutcomeDay(Base):
    """A service date's confirmed bookings of a provider's listing, by outcome: each counted
    booking is in exactly one column."""

    __tablename__ = "booking_outcome_day"
    __table_args__ = (
        Index("uq_booking_outcome_day_key", "service_date", "provider_id", "listing_id", unique=True),
        Index("ix_booking_outcome_day_provider_id_service_date", "provider_id", "service_date"),
        Index("ix_booking_outcome_day_listing_id_service_date", "listing_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    service_date: Mapped[date] = mapped_column(Date)
    provider_id: Mapped[UUID]
    listing_id: Mapped[UUID]
    open: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    completed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    no_shows: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cancelled_by_traveler: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unpaid_balance: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cancelled_by_provider: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    blackouts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
