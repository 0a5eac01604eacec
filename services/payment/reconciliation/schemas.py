from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Mismatch(BaseModel):
    """Where the ledger and Stripe disagree about one payment."""

    payment_intent_id: str
    booking_id: UUID
    currency: str
    # status: Stripe's word on the intent against ours; captured / refunded: the amounts.
    what: Literal["status", "captured", "refunded"]
    ledger: str
    stripe: str


class CurrencyTotals(BaseModel):
    currency: str
    ledger_captured: Decimal
    stripe_captured: Decimal
    ledger_refunded: Decimal
    stripe_refunded: Decimal
    # Refunds decided and not yet made at Stripe (retrying): expected, not a mismatch.
    refunds_in_flight: Decimal


class ReconciliationReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    # The days (UTC, both included) whose payments were checked, by when they were made.
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    payments_checked: int
    matched: int
    mismatches: list[Mismatch]
    totals: list[CurrencyTotals]
