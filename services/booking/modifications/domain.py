"""What a change of a booking's price does to its money, pure: what is charged now, what goes
back now, and what is left to pay later (and when).

- Paid in full (booked so, or a deposit booking whose balance is settled): a dearer change
  charges the difference now, a cheaper one refunds it.
- A deposit booking whose balance is not due yet keeps the split it was booked with: what is
  paid stays the same share of the total (the deposit's), as if booked at the new total. A
  dearer change charges the deposit's share of the difference now and adds the rest to the
  balance; a cheaper one refunds the deposit's share of the difference and lowers the balance
  by the rest; an equal one changes nothing. A deposit that would round to nothing or to the
  whole new total is settled in full now, as a new booking's would be. The traveler chose to
  pay a share now and the rest later; a change keeps that bargain, asking neither the whole
  difference up front nor leaving the provider a smaller deposit than the terms give.
- A deposit booking whose balance is due (being charged to the saved card, perhaps after a
  failed attempt): a dearer change charges the difference now and leaves the balance as it
  is; a cheaper one lowers the balance first and refunds only what was paid beyond the new
  total, since money given back now would be charged again at once.

The balance keeps its due date, unless the booking moves to a slot that starts too soon for
it: it then falls due that much earlier (charged at once if that is past). In every case
nothing is charged above the new total, nothing is refunded beyond what was paid, the balance
is never negative, and what is paid plus the balance is the new total.

A change is decided when it is asked for (`plan_change`: the charge is the PaymentIntent the
traveler confirms) and settled when its new seats are sold (`settle_change`), on the booking
as it then is: a balance paid in between counts, and what falls short of the plan is added to
the balance rather than charged without the traveler.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.money import money

ZERO = Decimal(0)


@dataclass(frozen=True)
class Account:
    """Where a booking's money stands: what it costs, what the traveler has paid for it (the
    payment at booking, the balance, earlier changes' differences, less what went back), and
    what is still owed, charged from `balance_due_at` (None: the booking was paid in full)."""

    currency: str
    total: Decimal
    paid: Decimal
    balance: Decimal
    balance_due_at: datetime | None

    def __post_init__(self) -> None:
        if min(self.total, self.paid, self.balance) < 0 or self.paid + self.balance != self.total:
            raise ValueError(f"an account's paid and owed add up to its total: {self}")


@dataclass(frozen=True)
class ChangeSplit:
    """What a change does: `charge_now` is asked of the traveler, `refund_now` goes back, and
    after it the traveler has `paid` and owes `balance`, charged from `balance_due_at`."""

    charge_now: Decimal
    refund_now: Decimal
    paid: Decimal
    balance: Decimal
    balance_due_at: datetime | None


def plan_change(account: Account, *, new_total: Decimal, now: datetime, latest_due_at: datetime) -> ChangeSplit:
    """The change as the traveler is asked to pay for it. `latest_due_at` is when the balance
    would fall due for the new slot (its start less the deposit terms' lead time)."""
    due_at = _due_at(account, latest_due_at)
    target = _target_paid(account, new_total=new_total, due_at=due_at, now=now)
    charge, refund = max(target - account.paid, ZERO), max(account.paid - target, ZERO)
    return _split(account, new_total=new_total, charge=charge, refund=refund, due_at=due_at)


def settle_change(
    account: Account, *, new_total: Decimal, received: Decimal, now: datetime, latest_due_at: datetime
) -> ChangeSplit:
    """The change once its seats are sold, with `received` paid for it (its PaymentIntent):
    what was paid beyond the plan goes back, what falls short of it joins the balance."""
    due_at = _due_at(account, latest_due_at)
    target = _target_paid(account, new_total=new_total, due_at=due_at, now=now)
    available = account.paid + received
    refund = max(available - target, ZERO)
    return _split(account, new_total=new_total, charge=received, refund=refund, due_at=due_at)


def _due_at(account: Account, latest_due_at: datetime) -> datetime:
    return latest_due_at if account.balance_due_at is None else min(account.balance_due_at, latest_due_at)


def _target_paid(account: Account, *, new_total: Decimal, due_at: datetime, now: datetime) -> Decimal:
    """What the traveler should have paid once the booking costs `new_total`."""
    if account.balance == 0:
        return new_total
    if now < due_at:
        share = money(new_total * account.paid / account.total, account.currency)
        return share if ZERO < share < new_total else new_total
    return min(new_total, max(account.paid, new_total - account.balance))


def _split(account: Account, *, new_total: Decimal, charge: Decimal, refund: Decimal, due_at: datetime) -> ChangeSplit:
    paid = account.paid + charge - refund
    balance = new_total - paid
    if min(charge, refund, paid, balance) < 0 or charge > new_total or refund > account.paid + charge:
        raise ValueError(
            "a change never charges above the new total, refunds beyond what was paid or leaves less than "
            f"nothing owed: {account}, new total {new_total}, charge {charge}, refund {refund}"
        )
    return ChangeSplit(
        charge_now=charge,
        refund_now=refund,
        paid=paid,
        balance=balance,
        balance_due_at=due_at if balance > 0 else account.balance_due_at,
    )
