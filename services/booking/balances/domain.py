"""Deposits and balances, pure: what is due now, what is left, when it falls due, and which
payments are the balance's.

A deposit booking pays `percent` of its total now (rounded half up to the currency's smallest
step) and the rest
`due_before` the slot starts. One whose due date would already have passed, or whose deposit
would round to nothing or to the whole total, is paid in full instead.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from shared.money import money

HUNDRED = Decimal(100)

PaymentOption = Literal["full", "deposit"]

# The traveler's own payment of the balance (POST /bookings/{id}/pay-balance); the scheduled
# off-session charges are `balance-<attempt>`, one intent per attempt, since payment keeps one
# intent per booking and purpose. A change of the booking may change the balance, so after the
# n-th change the early payment is another intent (`balance-early-<n>`).
EARLY_BALANCE_PURPOSE = "balance"
EARLY_BALANCE_AFTER_CHANGE_PREFIX = "balance-early-"


@dataclass(frozen=True)
class DepositTerms:
    percent: Decimal
    due_before: timedelta


@dataclass(frozen=True)
class PaymentPlan:
    option: PaymentOption
    due_now: Decimal
    balance: Decimal | None = None
    balance_due_at: datetime | None = None


def plan_payment(
    *, option: PaymentOption, total: Decimal, currency: str, starts_at: datetime, now: datetime, terms: DepositTerms
) -> PaymentPlan:
    in_full = PaymentPlan(option="full", due_now=total)
    if option == "full":
        return in_full
    due_at = starts_at - terms.due_before
    deposit = money(total * terms.percent / HUNDRED, currency)
    if due_at <= now or not Decimal(0) < deposit < total:
        return in_full
    return PaymentPlan(option="deposit", due_now=deposit, balance=total - deposit, balance_due_at=due_at)


def early_balance_purpose(changes: int) -> str:
    """The traveler's own payment of the balance as it stands after `changes` changes."""
    return f"{EARLY_BALANCE_AFTER_CHANGE_PREFIX}{changes}" if changes else EARLY_BALANCE_PURPOSE


def scheduled_attempt_purpose(attempt: int) -> str:
    return f"balance-{attempt}"


def scheduled_attempt(purpose: str) -> int | None:
    """The attempt a scheduled balance charge's purpose names, or None for any other payment."""
    prefix, _, number = purpose.partition("-")
    return int(number) if prefix == "balance" and number.isdigit() else None


def is_balance_payment(purpose: str) -> bool:
    return (
        purpose == EARLY_BALANCE_PURPOSE
        or purpose.startswith(EARLY_BALANCE_AFTER_CHANGE_PREFIX)
        or scheduled_attempt(purpose) is not None
    )


@dataclass(frozen=True)
class BalanceReceipt:
    """A payment toward the balance: `applied` counts, `refund` was not owed and goes back,
    and `owed` is what is left of the balance."""

    applied: Decimal
    refund: Decimal
    owed: Decimal


def take_balance_payment(*, owed: Decimal, received: Decimal) -> BalanceReceipt:
    """A payment made for the balance as it was (an early payment asked for, or a scheduled
    charge made, before a change moved it) counts up to what is owed now; the rest goes back,
    and a balance a change made dearer stays owed for the difference."""
    applied = min(owed, received)
    return BalanceReceipt(applied=applied, refund=received - applied, owed=owed - applied)


@dataclass(frozen=True)
class BalanceSchedule:
    """When a failed scheduled charge is tried again, and how many attempts there are."""

    retry_after: timedelta
    max_attempts: int
