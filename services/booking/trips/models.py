from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text, Time, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount


class Trip(Base):
    """A traveler's trip: where and when, for how many, and the items planned day by day. Its
    status follows its items and its expert review (see trips/domain.py)."""

    __tablename__ = "trip"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_in_order"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    # The owner's account email: checkout holds and charges on their behalf with it.
    traveler_email: Mapped[str] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(200))
    destinations: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    # How many travel; an item books for them all unless it names its own party.
    travelers: Mapped[int]
    experience_type: Mapped[str | None] = mapped_column(String(50))
    # The IANA zone the trip's days and item times are in (a calendar shows them there).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # draft → expert_review → confirmed → completed, or cancelled.
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # A read-only view for whoever holds the token; only its SHA-256 is kept, so a new share
    # replaces (revokes) the one before.
    share_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    shared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    share_shows_prices: Mapped[bool] = mapped_column(default=True)
    # The calendar feed's token is derived from the trip and this number: raising it revokes
    # the feed's URL and makes a new one.
    calendar_token_version: Mapped[int] = mapped_column(default=1)
    # The cart the last checkout put the unbooked items in; a new checkout reuses it while open.
    checkout_cart_id: Mapped[UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Deleted trips are kept (their bookings still point at them) and no longer shown.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TripItem(Base):
    """One thing planned on a day of a trip, linked to how it is booked (a slot of an instant or
    request listing, an affiliate partner, an expert handoff, or nothing to book) and to what
    booking it made, whose status it shows."""

    __tablename__ = "trip_item"
    __table_args__ = (
        CheckConstraint("day >= 1", name="day_from_one"),
        CheckConstraint("(price IS NULL) = (currency IS NULL)", name="price_has_currency"),
        Index("ix_trip_item_trip_id_day_position", "trip_id", "day", "position"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    trip_id: Mapped[UUID] = mapped_column(ForeignKey("trip.id", ondelete="CASCADE"))
    # Day 1 is the trip's start date; `position` orders the items of a day (the API's `order`).
    day: Mapped[int]
    position: Mapped[int]
    # accommodation | activity | meal | transport | other
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[time | None] = mapped_column(Time)
    duration_minutes: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str | None] = mapped_column(String(3))
    # An estimate (planned) or the exact price (quoted or charged).
    price_is_estimate: Mapped[bool] = mapped_column(default=True)
    # instant | request | external | expert | none: how the item is booked.
    booking_mode: Mapped[str] = mapped_column(String(20), default="none")
    listing_id: Mapped[UUID | None]
    slot_id: Mapped[UUID | None]
    # {adults, children, infants} when the item is not for all the trip's travelers.
    party: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    affiliate_partner: Mapped[str | None] = mapped_column(String(20))
    # What checkout made of the item, whose live status it shows.
    booking_id: Mapped[UUID | None] = mapped_column(index=True)
    # The cart item checkout made of it: how a booking made from the cart finds its way back.
    cart_item_id: Mapped[UUID | None] = mapped_column(unique=True)
    booking_request_id: Mapped[UUID | None] = mapped_column(index=True)
    handoff_id: Mapped[UUID | None] = mapped_column(index=True)
    affiliate_links: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # unbooked until checkout; then the linked thing's status (see trips/domain.py).
    booking_status: Mapped[str] = mapped_column(String(30), default="unbooked")
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # traveler, or expert: an expert's item waits for the owner's approval to be bookable.
    added_by: Mapped[str] = mapped_column(String(10), default="traveler")
    # The expert who added or last edited it, while it waits for the owner's approval.
    expert_id: Mapped[UUID | None]
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderCalendar(Base):
    """A provider's calendar feed of their confirmed bookings: its token is derived from the
    provider and this version, so raising the version revokes the feed's URL."""

    __tablename__ = "provider_calendar"

    provider_id: Mapped[UUID] = mapped_column(primary_key=True)
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
