from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.booking.db import Base


class AffiliateLink(Base):
    """A tracked link to a partner for one listing; the partner's URL is made at each click,
    so a change of the platform's partner id reaches every link."""

    __tablename__ = "affiliate_link"
    __table_args__ = (UniqueConstraint("listing_id", "partner"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    listing_id: Mapped[UUID]
    partner: Mapped[str] = mapped_column(String(20))
    query: Mapped[str] = mapped_column(String(400))
    clicks: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AffiliateClick(Base):
    __tablename__ = "affiliate_click"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    link_id: Mapped[UUID] = mapped_column(ForeignKey("affiliate_link.id", ondelete="CASCADE"), index=True)
    clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    referrer: Mapped[str | None] = mapped_column(String(500))
