from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.payment.db import Base


class ConnectedAccount(Base):
    """A provider's or an expert's Stripe Connect Express account, one per person, and its status
    as Stripe last reported it (`account.updated`)."""

    __tablename__ = "connected_account"
    __table_args__ = (CheckConstraint("owner_role IN ('provider', 'expert')", name="owner_role_known"),)

    owner_id: Mapped[UUID] = mapped_column(primary_key=True)
    owner_role: Mapped[str] = mapped_column(String(10))
    stripe_account_id: Mapped[str] = mapped_column(String(100), unique=True)
    # It can be the destination of a charge.
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    # Money can be paid out of it to the owner's bank.
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    # What Stripe still needs from the owner now (requirements.currently_due).
    requirements_due: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # Stripe reports it fully verified: the payout policy's `verified` tier.
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
