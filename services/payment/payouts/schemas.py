from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.payment.connect.schemas import AccountOut


class PayoutOut(BaseModel):
    """Money paid out to the recipient's bank for one booking: `gross` it owed them, less
    `netted` (what they owed back on other bookings, refunded after their payout) is `amount`."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    booking_id: UUID
    gross: Decimal
    netted: Decimal
    amount: Decimal
    currency: str
    # pending (on its way to Stripe), paid, failed (the bank refused it: ops act), or netted
    # (nothing left to send).
    status: str
    decided_at: datetime
    paid_at: datetime | None
    stripe_payout_id: str | None


class PayoutTotals(BaseModel):
    """Per currency, from the ledger: what was paid out, and what is still owed (earned, not yet
    paid out; negative while a refund after a payout waits to be netted from the next)."""

    currency: str
    paid_out: Decimal
    owed: Decimal


class PayoutsOut(BaseModel):
    # None until the provider (or expert) starts onboarding.
    account: AccountOut | None
    totals: list[PayoutTotals]
    payouts: list[PayoutOut]
