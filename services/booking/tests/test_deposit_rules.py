"""Deposit arithmetic, pure: what is paid now and later adds up to the total, the deposit is
the percentage to the currency's smallest step, the balance falls due before the slot, and a slot too close for a
balance (or a deposit that rounds to nothing) is paid in full."""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.booking.balances.domain import (
    DepositTerms,
    is_balance_payment,
    plan_payment,
    scheduled_attempt,
    scheduled_attempt_purpose,
)

NOW = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
DEFAULT = DepositTerms(percent=Decimal(30), due_before=timedelta(days=14))

# Each currency's smallest step, from ISO 4217 and Stripe's tens of fils for three-decimal ones.
STEPS = {"EUR": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.01")}
totals = st.sampled_from(sorted(STEPS)).flatmap(
    lambda currency: st.tuples(st.just(currency), st.integers(1, 10_000_000).map(lambda steps: steps * STEPS[currency]))
)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
lead_times = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=400))
due_befores = st.integers(min_value=1, max_value=60).map(lambda days: timedelta(days=days))


def test_thirty_percent_of_a_booking_a_month_out_is_due_now_and_the_rest_fourteen_days_before() -> None:
    starts_at = NOW + timedelta(days=30)
    plan = plan_payment(
        option="deposit", total=Decimal("88.00"), currency="EUR", starts_at=starts_at, now=NOW, terms=DEFAULT
    )
    assert (plan.option, plan.due_now, plan.balance) == ("deposit", Decimal("26.40"), Decimal("61.60"))
    assert plan.balance_due_at == starts_at - timedelta(days=14)


def test_the_deposit_is_rounded_half_up_to_the_cent() -> None:
    plan = plan_payment(
        option="deposit",
        total=Decimal("10.05"),
        currency="EUR",
        starts_at=NOW + timedelta(days=30),
        now=NOW,
        terms=DEFAULT,
    )
    assert (plan.due_now, plan.balance) == (Decimal("3.02"), Decimal("7.03"))  # 3.015 → 3.02


def test_a_slot_whose_balance_would_already_be_due_is_paid_in_full() -> None:
    for lead in (timedelta(days=14), timedelta(days=3)):
        plan = plan_payment(
            option="deposit", total=Decimal("88.00"), currency="EUR", starts_at=NOW + lead, now=NOW, terms=DEFAULT
        )
        assert (plan.option, plan.due_now, plan.balance, plan.balance_due_at) == ("full", Decimal("88.00"), None, None)


def test_full_payment_is_the_whole_total_now() -> None:
    plan = plan_payment(
        option="full",
        total=Decimal("88.00"),
        currency="EUR",
        starts_at=NOW + timedelta(days=60),
        now=NOW,
        terms=DEFAULT,
    )
    assert (plan.option, plan.due_now, plan.balance) == ("full", Decimal("88.00"), None)


@given(priced=totals, percent=percents, lead=lead_times, due_before=due_befores)
def test_what_is_paid_now_and_later_adds_up_to_the_total_in_the_currencys_steps(
    priced: tuple[str, Decimal], percent: Decimal, lead: timedelta, due_before: timedelta
) -> None:
    currency, total = priced
    step = STEPS[currency]
    terms = DepositTerms(percent=percent, due_before=due_before)
    plan = plan_payment(option="deposit", total=total, currency=currency, starts_at=NOW + lead, now=NOW, terms=terms)
    assert plan.due_now > 0
    assert plan.due_now + (plan.balance or Decimal(0)) == total
    if plan.option == "deposit":
        assert plan.balance is not None
        assert plan.balance > 0
        assert abs(plan.due_now - total * percent / 100) <= step / 2
        assert plan.due_now % step == 0
        assert plan.balance_due_at == NOW + lead - due_before
        assert plan.balance_due_at > NOW
    else:
        # Paid in full only when the balance could not be charged later, or the deposit rounds away.
        assert plan.due_now == total
        rounded = (total * percent / 100).quantize(step, rounding=ROUND_HALF_UP)
        assert lead <= due_before or rounded in (Decimal(0), total)


def test_each_scheduled_attempt_has_its_own_purpose_and_the_early_payment_is_no_attempt() -> None:
    assert [scheduled_attempt_purpose(n) for n in (1, 2, 3)] == ["balance-1", "balance-2", "balance-3"]
    assert [scheduled_attempt(p) for p in ("balance-2", "balance", "full", "deposit", "change-1")] == [
        2,
        None,
        None,
        None,
        None,
    ]
    assert [is_balance_payment(p) for p in ("balance", "balance-3", "deposit", "change-2")] == [
        True,
        True,
        False,
        False,
    ]


def test_a_yen_deposit_is_whole_yen() -> None:
    plan = plan_payment(
        option="deposit",
        total=Decimal(5001),
        currency="JPY",
        starts_at=NOW + timedelta(days=30),
        now=NOW,
        terms=DEFAULT,
    )
    assert (str(plan.due_now), plan.balance) == ("1500", Decimal(3501))  # 1500.3 → 1500
