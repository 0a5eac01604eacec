from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.payment.db import Base
from shared.db import MoneyAmount


class LedgerTransaction(Base):
    """One money movement; its entries sum to zero in its currency."""

    __tablename__ = "ledger_transaction"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[UUID] = mapped_column(index=True)
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    entries: Mapped[list["LedgerEntry"]] = relationship(cascade="all, delete-orphan")


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    transaction_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_transaction.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyAmount(15))
