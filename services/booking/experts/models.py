from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base
from shared.db import MoneyAmount


class ExpertProfile(Base):
    """What an admin allows an expert: booking for travelers (the personal-assistant
    privilege), and the expert's own fee when it differs from the platform's default."""

    __tablename__ = "expert_profile"

    expert_id: Mapped[UUID] = mapped_column(primary_key=True)
    personal_assistant: Mapped[bool] = mapped_column(default=False)
    fee_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    updated_by: Mapped[UUID]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExpertGrant(Base):
    """A traveler's permission for one expert to book on their behalf; a new grant to the same
    expert supersedes the one before (which is revoked)."""

    __tablename__ = "expert_grant"
    __table_args__ = (
        CheckConstraint("(spending_limit IS NULL) = (currency IS NULL)", name="limit_has_currency"),
        # At most one grant in force per traveler and expert: the one book-on-behalf checks.
        Index(
            "uq_expert_grant_traveler_id_expert_id",
            "traveler_id",
            "expert_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    expert_id: Mapped[UUID] = mapped_column(index=True)
    # The most the expert's bookings under this grant may come to, all together.
    spending_limit: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str | None] = mapped_column(String(3))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExpertHandoff(Base):
    """A trip a traveler hands to an expert. requested → accepted → completed → approved, or
    declined by the expert, or cancelled by the traveler (see experts/domain.py)."""

    __tablename__ = "expert_handoff"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traveler_id: Mapped[UUID] = mapped_column(index=True)
    # The identity booking vouches for when it holds seats and charges for the traveler.
    traveler_email: Mapped[str] = mapped_column(String(320))
    expert_id: Mapped[UUID] = mapped_column(index=True)
    # The trip the expert plans: they edit its items and the traveler approves them (one is
    # made from the handoff's details when the expert accepts a handoff without one).
    trip_id: Mapped[UUID | None] = mapped_column(ForeignKey("trip.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    budget: Mapped[Decimal | None] = mapped_column(MoneyAmount())
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # The expert's fee on bookings made through the handoff, fixed when the expert accepts.
    fee_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExpertBooking(Base):
    """A booking an expert made for the traveler through a handoff, under a grant, and the fee
    it earns the expert (payment splits it off later)."""

    __tablename__ = "expert_booking"

    booking_id: Mapped[UUID] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True)
    handoff_id: Mapped[UUID] = mapped_column(ForeignKey("expert_handoff.id"), index=True)
    grant_id: Mapped[UUID] = mapped_column(ForeignKey("expert_grant.id"), index=True)
    fee_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    expert_fee: Mapped[Decimal] = mapped_column(MoneyAmount())
    currency: Mapped[str] = mapped_column(String(3))
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
