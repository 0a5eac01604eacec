"""Events payment publishes on payment.events, keyed by booking id."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventPayload, register_event


@register_event("payment.succeeded", version=1)
class PaymentSucceeded(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    purpose: str
    amount: Decimal
    platform_fee: Decimal
    currency: str


@register_event("payment.failed", version=1)
class PaymentFailed(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    reason: str
    # Added after the first events of this type: those carry none.
    purpose: str | None = None


@register_event("payment.refunded", version=1)
class PaymentRefunded(EventPayload):
    booking_id: UUID
    payment_intent_id: str
    amount: Decimal
    currency: str
    # Payment's name for this refund, the same however often it is reported, and where the
    # money went: "card" or "credit". Absent from events written before they were carried.
    refund_id: str | None = None
    refunded_to: str | None = None


@register_event("payment.payout_failed", version=1)
class PayoutFailed(EventPayload):
    """Stripe could not pay a recipient's payout into their bank (a closed account, say): the
    money is back on their connected account, and ops have to act. Keyed by booking id."""

    payout_id: UUID
    stripe_payout_id: str
    stripe_account_id: str
    booking_id: UUID
    # Who was to be paid: a provider, or an expert (their fee on a booking they made).
    recipient_id: UUID
    recipient_role: str
    amount: Decimal
    currency: str
    # Stripe's failure_code (e.g. "account_closed") and failure_message.
    failure_code: str | None
    failure_message: str | None
    # When Stripe's word of it reached payment.
    failed_at: datetime


class LedgerLine(BaseModel):
    """One entry of a ledger transaction: positive a debit, negative a credit."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str
    amount: Decimal


@register_event("payment.ledger_transaction_recorded", version=1)
class LedgerTransactionRecorded(EventPayload):
    """A transaction of payment's double-entry ledger, as written: every money movement (a
    capture, a refund, a credit granted, the expert's part of a fee, a payout) is one, and its
    entries sum to zero. Accounts: `stripe_balance`, `provider_payable:<id>`,
    `expert_payable:<id>`, `platform_revenue`, `traveler_credit:<id>`, `platform_credit_expense`.
    Keyed by booking id."""

    transaction_id: UUID
    kind: str
    booking_id: UUID
    # Unique per transaction: payment's name for the movement.
    reference: str
    currency: str
    occurred_at: datetime
    entries: list[LedgerLine]
