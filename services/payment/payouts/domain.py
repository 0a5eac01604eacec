"""Payouts, pure rules: when a booking's money is due to its recipient, how debts are netted from
what is paid out, and how long a failed Stripe call waits.

How the money travels (what Stripe marketplaces do to hold money until a service is delivered):
connected accounts are on manual payouts, so Stripe pays an account out only when we create a
payout on it. A destination charge's money lands on the provider's account at once and waits
there; money the platform holds (a cart's parts, a provider who could not take charges, the
expert's part of our fee) is transferred to the account when due. Then a payout on the account
sends the booking's money to the recipient's bank. The ledger counts both as `stripe_balance`
until the payout.

A refund after a payout: the recipient owes it back. Their payable goes into debit in the ledger
and the next payouts to them are netted by it; at Stripe the connected account gives it back,
a destination charge's by the refund reversing its transfer, a transferred part's by a reversal
of that transfer, so the account's balance goes negative until those netted payouts refill it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

Tier = Literal["new", "verified"]


@dataclass(frozen=True)
class PolicyRule:
    # `confirmation` or `service_end` (the booked slot's end).
    anchor: str
    delay: timedelta


def tier_of(*, verified: bool) -> Tier:
    return "verified" if verified else "new"


def due_at(rule: PolicyRule, *, confirmed_at: datetime, service_ends_at: datetime) -> datetime:
    """When a booking's money may be paid out under `rule`."""
    return (confirmed_at if rule.anchor == "confirmation" else service_ends_at) + rule.delay


def transfer_group(booking_id: UUID) -> str:
    """Ties a charge the platform keeps to the transfers that later pay out its parts."""
    return f"booking-{booking_id}"


@dataclass(frozen=True)
class Netting:
    debtor_booking_id: UUID
    amount: Decimal


def net_debts(owed: Decimal, debts: list[tuple[UUID, Decimal]]) -> list[Netting]:
    """What to take off a payout of `owed` for the recipient's debts (booking, amount owed back),
    oldest first, never more than `owed` in all."""
    taken: list[Netting] = []
    left = owed
    for booking_id, debt in debts:
        if left <= 0:
            break
        share = min(debt, left)
        if share > 0:
            taken.append(Netting(booking_id, share))
            left -= share
    return taken


def retry_delay(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long a payout or transfer that failed `attempts` times waits: doubling, capped."""
    doubled: timedelta = first * 2 ** min(attempts - 1, 30)
    return min(doubled, longest)
