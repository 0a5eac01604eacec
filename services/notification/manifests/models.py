from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Date, DateTime, Index, String, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class ProviderBooking(Base):
    """A booking as its provider's manifests need it, kept from booking's events: its latest
    start, party and whether it still stands."""

    __tablename__ = "provider_booking"
    __table_args__ = (
        # What the manifest job reads: the bookings still standing by when they start.
        Index("ix_provider_booking_upcoming", "starts_at", postgresql_where=text("status = 'confirmed'")),
    )

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID]
    reference: Mapped[str] = mapped_column(String(40))
    listing_title: Mapped[str]
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    timezone: Mapped[str] = mapped_column(String(64))
    seats: Mapped[int]
    contact_name: Mapped[str]
    # confirmed | cancelled. A booking known only by its cancellation (read before its
    # confirmation) is kept as cancelled, so the confirmation read later changes nothing.
    status: Mapped[str] = mapped_column(String(20))


class ProviderManifest(Base):
    """A provider's manifest of one local day in one zone, written once when it is sent."""

    __tablename__ = "provider_manifest"
    __table_args__ = (UniqueConstraint("provider_id", "timezone", "local_date"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    provider_id: Mapped[UUID]
    timezone: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[date] = mapped_column(Date)
    booking_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
