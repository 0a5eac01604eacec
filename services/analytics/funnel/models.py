from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Date, DateTime, Double, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import Base

FUNNEL_STEPS = ("views", "holds", "bookings", "paid", "confirmed", "requests", "accepted")


class FunnelDay(Base):
    """A UTC day of a provider's listing: each step of the funnel counted on the day it happened.
    Null provider: a hold of an event from before holds named it, of a listing not met otherwise."""

    __tablename__ = "funnel_day"
    __table_args__ = (
        Index("uq_funnel_day_key", "day", "provider_id", "listing_id", unique=True, postgresql_nulls_not_distinct=True),
        Index("ix_funnel_day_provider_id_day", "provider_id", "day"),
        Index("ix_funnel_day_listing_id_day", "listing_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    provider_id: Mapped[UUID | None]
    listing_id: Mapped[UUID]
    views: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    holds: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    bookings: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    paid: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    confirmed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    requests: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    accepted: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class FunnelListing(Base):
    """Whose a listing is, as any event naming both told it."""

    __tablename__ = "funnel_listing"

    listing_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID]


class FunnelBooking(Base):
    """When a booking reached each step, so each counts once (payment is announced again for a
    change's seats) and a step whose event names no listing counts to the booking's."""

    __tablename__ = "funnel_booking"

    booking_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID | None]
    listing_id: Mapped[UUID | None]
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FunnelRequest(Base):
    """A booking request and its provider's first answer: the response time is
    `responded_at - requested_at`, counted on the day of the answer."""

    __tablename__ = "funnel_request"
    __table_args__ = (
        Index("ix_funnel_request_responded_at", "responded_at"),
        Index("ix_funnel_request_provider_id_responded_at", "provider_id", "responded_at"),
        Index("ix_funnel_request_listing_id_responded_at", "listing_id", "responded_at"),
    )

    request_id: Mapped[UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[UUID]
    listing_id: Mapped[UUID]
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # accepted, declined or countered; null while unanswered (and for one that expired so).
    response: Mapped[str | None] = mapped_column(String(20))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # responded_at - requested_at, kept so a year's percentiles read it rather than compute it.
    response_seconds: Mapped[float | None] = mapped_column(Double)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
