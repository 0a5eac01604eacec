"""What a change does to a booking's money, pure: each case of the rules, then random lives of
a booking (a deposit or full payment, balance payments early, late or stale, failed balance
attempts, dearer, cheaper and equal changes before and inside the balance window, a balance paid
while a change is under way, and a cancellation by the policy) in three currencies."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.booking.balances.domain import DepositTerms, plan_payment, take_balance_payment
from services.booking.cancellations.domain import CancellationPolicy, settle
from services.booking.modifications.domain import Account, ChangeSplit, plan_change, settle_change
from shared.money import money, smallest_step

NOW = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TERMS = DepositTerms(percent=Decimal(30), due_before=14 * DAY)
STARTS_AT = NOW + 30 * DAY
DUE_AT = STARTS_AT - TERMS.due_before


def _deposit(total: str = "88.00", paid: str = "26.40") -> Account:
    return Account(
        currency="EUR",
        total=Decimal(total),
        paid=Decimal(paid),
        balance=Decimal(total) - Decimal(paid),
        balance_due_at=DUE_AT,
    )


def _in_full(total: str = "88.00") -> Account:
    return Account(currency="EUR", total=Decimal(total), paid=Decimal(total), balance=Decimal(0), balance_due_at=None)


def _plan(account: Account, new_total: str, *, now: datetime = NOW, starts_at: datetime = STARTS_AT) -> ChangeSplit:
    return plan_change(account, new_total=Decimal(new_total), now=now, latest_due_at=starts_at - TERMS.due_before)


def _amounts(split: ChangeSplit) -> tuple[Decimal, ...]:
    """Charged now, refunded now, paid after, still owed."""
    return (split.charge_now, split.refund_now, split.paid, split.balance)


def _d(*amounts: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(amount) for amount in amounts)


def test_a_cheaper_change_of_a_deposit_booking_refunds_the_deposits_share_and_lowers_the_balance() -> None:
    split = _plan(_deposit(), "44.00")
    assert _amounts(split) == _d("0.00", "13.20", "13.20", "30.80")
    assert split.balance_due_at == DUE_AT


def test_a_dearer_change_of_a_deposit_booking_charges_the_deposits_share_and_adds_the_rest_to_the_balance() -> None:
    split = _plan(_deposit(), "132.00")
    assert _amounts(split) == _d("13.20", "0.00", "39.60", "92.40")
    assert split.balance_due_at == DUE_AT


def test_an_equal_change_of_a_deposit_booking_moves_no_money() -> None:
    assert _amounts(_plan(_deposit(), "88.00")) == _d("0", "0", "26.40", "61.60")


@pytest.mark.parametrize(
    ("new_total", "expected"),
    [("132.00", ("44.00", "0", "132.00", "0")), ("44.00", ("0", "44.00", "44.00", "0"))],
)
def test_a_booking_paid_in_full_pays_or_gets_back_the_whole_difference(
    new_total: str, expected: tuple[str, ...]
) -> None:
    assert _amounts(_plan(_in_full(), new_total)) == _d(*expected)


def test_inside_the_balance_window_a_dearer_change_charges_the_difference_and_the_balance_stays() -> None:
    split = _plan(_deposit(), "132.00", now=DUE_AT + DAY)
    assert _amounts(split) == _d("44.00", "0", "70.40", "61.60")


def test_inside_the_balance_window_a_cheaper_change_lowers_the_balance_before_refunding_anything() -> None:
    assert _amounts(_plan(_deposit(), "44.00", now=DUE_AT + DAY)) == _d("0", "0", "26.40", "17.60")
    settled = _plan(_deposit(), "20.00", now=DUE_AT + DAY)
    assert _amounts(settled) == _d("0", "6.40", "20.00", "0.00")


def test_a_move_to_a_slot_too_soon_for_the_balance_brings_its_due_date_forward() -> None:
    sooner = NOW + 20 * DAY
    assert _plan(_deposit(), "88.00", starts_at=sooner).balance_due_at == sooner - TERMS.due_before
    later = NOW + 60 * DAY
    assert _plan(_deposit(), "88.00", starts_at=later).balance_due_at == DUE_AT


def test_a_balance_paid_while_a_dearer_change_was_under_way_is_kept_and_the_shortfall_is_owed() -> None:
    planned = _plan(_deposit(), "132.00")
    paid_in_full_since = replace(_in_full(), balance_due_at=DUE_AT)
    split = settle_change(
        paid_in_full_since,
        new_total=Decimal("132.00"),
        received=planned.charge_now,
        now=NOW,
        latest_due_at=STARTS_AT - TERMS.due_before,
    )
    assert _amounts(split) == _d("13.20", "0", "101.20", "30.80")
    assert split.balance_due_at == DUE_AT


def test_a_deposit_that_rounds_to_nothing_is_settled_in_full() -> None:
    yen = Account(currency="JPY", total=Decimal(10), paid=Decimal(3), balance=Decimal(7), balance_due_at=DUE_AT)
    assert _amounts(_plan(yen, "1")) == _d("0", "2", "1", "0")


@pytest.mark.parametrize(
    ("owed", "received", "expected"),
    [("61.60", "61.60", ("61.60", "0.00", "0.00")), ("30.80", "61.60", ("30.80", "30.80", "0.00"))],
)
def test_a_balance_payment_counts_up_to_what_is_owed_and_the_rest_goes_back(
    owed: str, received: str, expected: tuple[str, str, str]
) -> None:
    receipt = take_balance_payment(owed=Decimal(owed), received=Decimal(received))
    assert (receipt.applied, receipt.refund, receipt.owed) == _d(*expected)


def test_a_balance_payment_short_of_a_balance_a_change_raised_leaves_the_rest_owed() -> None:
    receipt = take_balance_payment(owed=Decimal("92.40"), received=Decimal("61.60"))
    assert (receipt.applied, receipt.refund, receipt.owed) == (Decimal("61.60"), Decimal(0), Decimal("30.80"))


# Random lives of a booking.


@dataclass
class Life:
    """A booking's money through its life, and what moved: charged and refunded, in all."""

    account: Account
    starts_at: datetime
    now: datetime
    charged: Decimal
    refunded: Decimal
    # The balance as it stood when the traveler last asked to pay it early (a stale intent).
    early_intent: Decimal | None = None

    def check(self) -> None:
        account = self.account
        assert Decimal(0) <= account.paid <= account.total
        assert account.balance >= 0
        assert self.refunded <= self.charged
        assert self.charged - self.refunded == account.paid


currencies = st.sampled_from(["EUR", "JPY", "KWD"])
factors = st.decimals(min_value=Decimal("0"), max_value=Decimal("3"), places=2)
days = st.integers(min_value=0, max_value=20)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("change"), factors, st.integers(min_value=-25, max_value=25), st.booleans(), days),
        st.tuples(st.just("time"), days),
        st.tuples(st.just("ask_early"), st.just(0)),
        st.tuples(st.just("pay_early"), st.just(0)),
        st.tuples(st.just("balance_job"), st.booleans()),
    ),
    max_size=12,
)


def _start(currency: str, total: Decimal, option: str, lead: timedelta) -> Life:
    starts_at = NOW + lead
    plan = plan_payment(
        option="deposit" if option == "deposit" else "full",
        total=total,
        starts_at=starts_at,
        now=NOW,
        terms=TERMS,
        currency=currency,
    )
    deposit = money(plan.due_now, currency)
    if not Decimal(0) < deposit < total:
        deposit = total
    account = Account(
        currency=currency,
        total=total,
        paid=deposit,
        balance=total - deposit,
        balance_due_at=plan.balance_due_at if total > deposit else None,
    )
    return Life(account=account, starts_at=starts_at, now=NOW, charged=deposit, refunded=Decimal(0))


def _pay_balance(life: Life, received: Decimal) -> None:
    receipt = take_balance_payment(owed=life.account.balance, received=received)
    assert receipt.applied <= life.account.balance
    assert receipt.refund <= received
    life.charged += received
    life.refunded += receipt.refund
    life.account = replace(life.account, paid=life.account.paid + receipt.applied, balance=receipt.owed)


def _change(life: Life, factor: Decimal, move_days: int, balance_paid_meanwhile: bool, wait: int) -> None:
    account, currency = life.account, life.account.currency
    new_total = money(account.total * factor, currency)
    starts_at = max(life.starts_at + move_days * DAY, life.now + DAY)
    latest_due_at = starts_at - TERMS.due_before
    planned = plan_change(account, new_total=new_total, now=life.now, latest_due_at=latest_due_at)
    assert planned.charge_now <= new_total
    assert planned.refund_now <= account.paid
    assert planned.paid + planned.balance == new_total
    if new_total == account.total and account.paid > 0:
        assert planned.charge_now == planned.refund_now == 0
    life.charged += planned.charge_now
    if balance_paid_meanwhile and account.balance > 0:
        _pay_balance(life, account.balance)
    life.now += wait * DAY
    settled = settle_change(
        life.account, new_total=new_total, received=planned.charge_now, now=life.now, latest_due_at=latest_due_at
    )
    assert settled.refund_now <= life.account.paid + planned.charge_now
    life.refunded += settled.refund_now
    life.account = Account(
        currency=currency,
        total=new_total,
        paid=settled.paid,
        balance=settled.balance,
        balance_due_at=settled.balance_due_at,
    )
    life.starts_at = starts_at


@settings(max_examples=400, deadline=None)
@given(
    currency=currencies,
    units=st.integers(min_value=1, max_value=10_000_000),
    option=st.sampled_from(["deposit", "full"]),
    lead_days=st.integers(min_value=1, max_value=60),
    life_steps=steps,
    cancelled_by=st.sampled_from([None, "traveler", "provider"]),
)
def test_no_sequence_of_payments_changes_and_a_cancellation_pays_more_than_the_total_or_owes_less_than_nothing(
    currency: str,
    units: int,
    option: str,
    lead_days: int,
    life_steps: list[tuple[object, ...]],
    cancelled_by: str | None,
) -> None:
    total = money(units * smallest_step(currency), currency)
    life = _start(currency, total, option, lead_days * DAY)
    life.check()
    for step in life_steps:
        if life.now >= life.starts_at:
            break  # a booking that has started is changed no more
        match step:
            case ("change", Decimal() as factor, int() as move_days, bool() as balance_paid_meanwhile, int() as wait):
                _change(life, factor, move_days, balance_paid_meanwhile, wait)
            case ("time", int() as passing):
                life.now += passing * DAY
            case ("ask_early", _):
                if life.account.balance > 0:
                    life.early_intent = life.account.balance
            case ("pay_early", _):
                if life.early_intent is not None:
                    _pay_balance(life, life.early_intent)  # perhaps for a balance a change since moved
                    life.early_intent = None
            case ("balance_job", bool() as succeeds):
                due = life.account.balance_due_at
                if life.account.balance > 0 and due is not None and life.now >= due and succeeds:
                    _pay_balance(life, life.account.balance)
                # A failed attempt moves no money; the balance stays owed for the next one.
            case _:
                raise AssertionError(f"unknown step {step}")
        life.check()
    if cancelled_by is not None:
        settlement = settle(
            paid=life.account.paid,
            currency=life.account.currency,
            policy=CancellationPolicy(),
            before_start=life.starts_at - life.now,
            cancelled_by="provider" if cancelled_by == "provider" else "traveler",
            provider_credit=Decimal(0),
        )
        assert Decimal(0) <= settlement.refund <= life.account.paid
        assert life.refunded + settlement.refund <= life.charged
