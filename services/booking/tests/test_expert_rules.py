"""The pure rules of expert-assisted trips: how a handoff moves and who moves it, the expert's
fee, and when an expert may book for a traveler, over generated privileges, grants and prices."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.booking.experts.domain import (
    ACTIONS,
    TRANSITIONS,
    Charge,
    GrantTerms,
    HandoffStatus,
    check_transition,
    expert_fee,
    refusal_to_book,
)
from shared.errors import Conflict

STATUSES: tuple[str, ...] = get_args(HandoffStatus)
NOW = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2)
currencies = st.sampled_from(["EUR", "USD"])
STEPS = {"EUR": Decimal("0.01"), "JPY": Decimal(1)}
moments = st.one_of(st.none(), st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)))
grants = st.one_of(
    st.none(),
    st.builds(
        lambda limit, currency, expires_in, revoked: GrantTerms(
            spending_limit=limit,
            currency=currency if limit is not None else None,
            expires_at=None if expires_in is None else NOW + expires_in,
            revoked_at=NOW - timedelta(hours=1) if revoked else None,
        ),
        st.one_of(st.none(), amounts),
        currencies,
        moments,
        st.booleans(),
    ),
)
charges = st.one_of(st.none(), st.builds(Charge, amount=amounts, currency=currencies))


def test_a_handoff_goes_from_requested_to_approved_and_ends_there() -> None:
    path = ["requested", "accepted", "completed", "approved"]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)
    for ended in ("approved", "declined", "cancelled"):
        assert not [target for current, target in TRANSITIONS if current == ended], f"{ended} is final"


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move_off_the_table_is_an_invalid_transition(current: str, target: str) -> None:
    if (current, target) in TRANSITIONS:
        check_transition(current, target)
        return
    with pytest.raises(Conflict) as refused:
        check_transition(current, target)
    assert (refused.value.error_code, refused.value.details) == (
        "INVALID_TRANSITION",
        {"from": current, "to": target},
    )


def test_the_expert_works_the_handoff_and_the_traveler_decides_on_it() -> None:
    assert {action: party for action, (party, _) in ACTIONS.items()} == {
        "accept": "expert",
        "decline": "expert",
        "complete": "expert",
        "approve": "traveler",
        "cancel": "traveler",
    }
    assert {target for _, target in ACTIONS.values()} == set(STATUSES) - {"requested"}


@given(st.booleans(), grants, charges, amounts)
def test_an_expert_books_only_with_the_privilege_and_a_live_grant_the_booking_fits(
    personal_assistant: bool, grant: GrantTerms | None, charge: Charge | None, spent: Decimal
) -> None:
    refusal = refusal_to_book(personal_assistant=personal_assistant, grant=grant, now=NOW, charge=charge, spent=spent)
    live = grant is not None and grant.revoked_at is None and (grant.expires_at is None or grant.expires_at > NOW)
    fits = (
        grant is None
        or grant.spending_limit is None
        or charge is None
        or (charge.currency == grant.currency and spent + charge.amount <= grant.spending_limit)
    )
    assert (refusal is None) == (personal_assistant and live and fits)
    # The reason given is the first condition that fails, in the order the expert must fix them.
    if not personal_assistant:
        assert refusal == "NOT_PERSONAL_ASSISTANT"
    elif grant is None:
        assert refusal == "NO_GRANT"
    elif grant.revoked_at is not None:
        assert refusal == "GRANT_REVOKED"
    elif not live:
        assert refusal == "GRANT_EXPIRED"


@given(grants.filter(lambda grant: grant is not None and grant.spending_limit is not None), amounts, amounts)
def test_what_a_grant_refuses_for_its_limit_it_refuses_for_more(
    grant: GrantTerms | None, amount: Decimal, more: Decimal
) -> None:
    assert grant is not None
    assert grant.currency is not None
    charge = Charge(amount=amount, currency=grant.currency)
    refusal = refusal_to_book(personal_assistant=True, grant=grant, now=NOW, charge=charge, spent=Decimal(0))
    if refusal == "GRANT_LIMIT_EXCEEDED":
        for spent in (Decimal(0), more):
            bigger = Charge(amount=amount + more, currency=grant.currency)
            assert (
                refusal_to_book(personal_assistant=True, grant=grant, now=NOW, charge=bigger, spent=spent)
                == "GRANT_LIMIT_EXCEEDED"
            )


def test_a_grant_expires_at_its_moment_and_a_limit_takes_a_booking_that_fills_it_exactly() -> None:
    grant = GrantTerms(spending_limit=Decimal(100), currency="EUR", expires_at=NOW, revoked_at=None)
    assert refusal_to_book(personal_assistant=True, grant=grant, now=NOW, charge=None, spent=Decimal(0)) == (
        "GRANT_EXPIRED"
    )
    before = NOW - timedelta(seconds=1)
    exact = Charge(amount=Decimal(40), currency="EUR")
    assert refusal_to_book(personal_assistant=True, grant=grant, now=before, charge=exact, spent=Decimal(60)) is None
    over = Charge(amount=Decimal("40.01"), currency="EUR")
    assert refusal_to_book(personal_assistant=True, grant=grant, now=before, charge=over, spent=Decimal(60)) == (
        "GRANT_LIMIT_EXCEEDED"
    )
    dollars = Charge(amount=Decimal(1), currency="USD")
    assert refusal_to_book(personal_assistant=True, grant=grant, now=before, charge=dollars, spent=Decimal(0)) == (
        "GRANT_CURRENCY_MISMATCH"
    )


@given(amounts, st.decimals(min_value=0, max_value=100, places=2), st.sampled_from(["EUR", "JPY"]))
def test_the_expert_fee_is_a_share_of_the_total_to_the_currencys_step(
    total: Decimal, percentage: Decimal, currency: str
) -> None:
    total = total.quantize(STEPS[currency]) or STEPS[currency]
    fee = expert_fee(total, percentage, currency)
    assert Decimal(0) <= fee <= total
    assert fee % STEPS[currency] == 0
    assert abs(fee - total * percentage / 100) <= STEPS[currency] / 2
