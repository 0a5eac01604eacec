from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel


class CreditBalanceOut(BaseModel):
    currency: str
    # Spendable at checkout now.
    available: Decimal
    # Held by checkouts waiting for the rest to be paid by card: spent if it is, back if not.
    reserved: Decimal


class CreditEntryOut(BaseModel):
    kind: Literal["granted", "reserved", "spent", "released", "refunded"]
    amount: Decimal
    currency: str
    booking_id: UUID | None
    reason: str | None
    occurred_at: datetime


class CreditsOut(BaseModel):
    """The traveler's credit per currency, and its history, newest first, a page at a time."""

    balances: list[CreditBalanceOut]
    items: list[CreditEntryOut]
    next_cursor: str | None
