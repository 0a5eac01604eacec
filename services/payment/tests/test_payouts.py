"""Payouts by the seeded policy, through the Connect test double, on a pinned clock: a new
provider is paid after the service plus 24 h and not before, a verified one at confirmation,
each once however often and however concurrently the job runs; a cart's parts are transferred
to each provider; a provider without an account is owed in the ledger until they have one; the
expert who booked is paid their part of the fee; a refund after a payout is taken back from the
account and netted from the next payout. The ledger balances after each (conftest)."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.intents.models import StripeCommand
from services.payment.intents.service import run_pending_stripe_commands
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import PLATFORM_REVENUE, expert_payable, provider_payable
from services.payment.payouts.consumers import look_again_after_a_refund
from services.payment.payouts.models import Payout, PayoutTransfer
from services.payment.stripe_gateway import create_stripe_client
from services.payment.tests.conftest import PaymentApp
from services.payment.tests.connect_steps import (
    T0,
    balance_of,
    confirmed,
    deliver,
    my_payouts,
    onboard,
    paid,
    payee_with_account,
    run_payouts,
    stripe_calls,
    stripe_changes_account,
)
from shared.contracts.booking import BookingRefundRequested
from shared.identity import Identity
from shared.money import to_minor_units
from shared.testing import make_identity


async def _payouts_of(payment_app: PaymentApp, booking_id: uuid.UUID) -> list[Payout]:
    async with payment_app.sessions() as session:
        rows = await session.scalars(select(Payout).where(Payout.booking_id == booking_id).order_by(Payout.sequence))
        return list(rows.all())


async def _transfers_of(payment_app: PaymentApp, booking_id: uuid.UUID) -> list[dict[str, Any]]:
    """The booking's transfers (and reversals) as Stripe has them."""
    async with payment_app.sessions() as session:
        rows = (
            await session.scalars(
                select(PayoutTransfer).where(PayoutTransfer.booking_id == booking_id).order_by(PayoutTransfer.sequence)
            )
        ).all()
    made = []
    for row in rows:
        assert row.status == "done"
        made.append(
            (
                await payment_app.stripe_double.get(f"/v1/transfers/{row.stripe_transfer_id}", auth=("sk_test_x", ""))
            ).json()
        )
    return made


async def _earnings(payment_app: PaymentApp, provider: Identity) -> dict[str, str]:
    answer = await payment_app.client.get("/providers/me/earnings", headers=payment_app.as_(provider))
    assert answer.status_code == 200, answer.text
    [currency] = answer.json()["currencies"]
    earned: dict[str, str] = currency
    return earned


async def _refunds_made(payment_app: PaymentApp, booking_id: uuid.UUID) -> None:
    """Make the booking's refunds decided (the app's own command loop may be making them too)."""
    stripe_client = create_stripe_client(payment_app.settings)
    for _ in range(200):
        await run_pending_stripe_commands(payment_app.sessions, stripe_client=stripe_client, now=T0)
        async with payment_app.sessions() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(StripeCommand)
                .where(StripeCommand.booking_id == booking_id, StripeCommand.status == "pending")
            )
        if not pending:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the refunds were not made")


async def _account_id(payment_app: PaymentApp, payee: Identity) -> str:
    account_id: str = (await my_payouts(payment_app, payee))["account"]["account_id"]
    return account_id


async def test_a_new_provider_is_paid_after_the_service_plus_a_day_and_not_before(payment_app: PaymentApp) -> None:
    provider = await payee_with_account(payment_app, verified=False)
    booking_id = uuid.uuid4()
    await paid(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    service_ends_at = T0 + timedelta(days=3)
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id, service_ends_at=service_ends_at)

    await run_payouts(payment_app, T0)
    await run_payouts(payment_app, service_ends_at + timedelta(hours=23, minutes=59))
    assert await _payouts_of(payment_app, booking_id) == []
    assert (await my_payouts(payment_app, provider))["totals"] == [
        {"currency": "EUR", "paid_out": "0.00", "owed": "74.80"}
    ]

    await run_payouts(payment_app, service_ends_at + timedelta(hours=24))
    [payout] = await _payouts_of(payment_app, booking_id)
    assert (payout.status, payout.amount, payout.netted) == ("paid", Decimal("74.80"), Decimal(0))
    [made] = await stripe_calls(payment_app, "POST", "/v1/payouts", key_part=str(booking_id))
    assert made["stripe_account"] == await _account_id(payment_app, provider), "paid out of their own account"
    assert await _transfers_of(payment_app, booking_id) == [], "a destination charge's money is there already"
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == 0

    shown = await my_payouts(payment_app, provider)
    assert [(row["booking_id"], row["amount"], row["status"]) for row in shown["payouts"]] == [
        (str(booking_id), "74.80", "paid")
    ]
    assert shown["totals"] == [{"currency": "EUR", "paid_out": "74.80", "owed": "0.00"}]
    assert (await _earnings(payment_app, provider))["net"] == "74.80", "a payout is not a loss of earnings"


async def test_a_verified_provider_is_paid_at_confirmation_once_however_the_job_runs(payment_app: PaymentApp) -> None:
    provider = await payee_with_account(payment_app)
    booking_id = uuid.uuid4()
    await paid(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    await run_payouts(payment_app, T0)
    assert await _payouts_of(payment_app, booking_id) == [], "nothing is due before the booking is confirmed"
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id, at=T0)

    await run_payouts(payment_app, T0 - timedelta(seconds=1))
    assert await _payouts_of(payment_app, booking_id) == []
    await asyncio.gather(*(run_payouts(payment_app, T0) for _ in range(3)))
    await run_payouts(payment_app, T0 + timedelta(days=5))

    [payout] = await _payouts_of(payment_app, booking_id)
    assert (payout.status, payout.amount) == ("paid", Decimal("74.80"))
    assert len(await stripe_calls(payment_app, "POST", "/v1/payouts", key_part=str(booking_id))) == 1
    async with payment_app.sessions() as session:
        postings = await session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.booking_id == booking_id, LedgerTransaction.kind == "payout")
        )
    assert postings == 1
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == 0


async def test_a_carts_parts_are_transferred_to_each_provider_and_paid_out(payment_app: PaymentApp) -> None:
    host, restaurant = await payee_with_account(payment_app), await payee_with_account(payment_app)
    cart_id, stay_id, dinner_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await paid(
        payment_app,
        booking_id=cart_id,
        provider_id=host.user_id,
        category="accommodation",
        amount="150.00",
        parts=[
            {
                "booking_id": str(stay_id),
                "provider_id": str(host.user_id),
                "category": "accommodation",
                "amount": "120.00",
            },
            {
                "booking_id": str(dinner_id),
                "provider_id": str(restaurant.user_id),
                "category": "meal",
                "amount": "30.00",
            },
        ],
    )
    await confirmed(payment_app, booking_id=stay_id, provider_id=host.user_id)
    await confirmed(payment_app, booking_id=dinner_id, provider_id=restaurant.user_id)
    await run_payouts(payment_app, T0)

    # Accommodation 7.5 % of 120.00, meal 5 % of 30.00.
    for booking_id, provider, net in ((stay_id, host, Decimal("111.00")), (dinner_id, restaurant, Decimal("28.50"))):
        [transfer] = await _transfers_of(payment_app, booking_id)
        assert (transfer["destination"], transfer["amount"], transfer["transfer_group"]) == (
            await _account_id(payment_app, provider),
            to_minor_units(net, "EUR"),
            f"booking-{cart_id}",
        )
        [payout] = await _payouts_of(payment_app, booking_id)
        assert (payout.status, payout.amount) == ("paid", net)
        assert await balance_of(payment_app, provider_payable(provider.user_id)) == 0


async def test_a_provider_without_an_account_is_owed_in_the_ledger_until_they_can_be_paid(
    payment_app: PaymentApp,
) -> None:
    provider = make_identity("provider")
    booking_id = uuid.uuid4()
    await paid(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    await run_payouts(payment_app, T0 + timedelta(days=30))
    assert await _payouts_of(payment_app, booking_id) == []
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == Decimal("-74.80")
    assert await my_payouts(payment_app, provider) == {
        "account": None,
        "totals": [{"currency": "EUR", "paid_out": "0.00", "owed": "74.80"}],
        "payouts": [],
    }

    account_id = (await onboard(payment_app, provider))["account_id"]
    await run_payouts(payment_app, T0 + timedelta(days=30))
    assert await _payouts_of(payment_app, booking_id) == [], "an account that cannot pay out yet is not paid"
    assert await deliver(payment_app, await stripe_changes_account(payment_app, account_id)) == "account verified"
    await run_payouts(payment_app, T0 + timedelta(days=30))

    [transfer] = await _transfers_of(payment_app, booking_id)
    assert (transfer["destination"], transfer["amount"]) == (account_id, 7480), "the money we held goes over first"
    [payout] = await _payouts_of(payment_app, booking_id)
    assert (payout.status, payout.amount) == ("paid", Decimal("74.80"))
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == 0


async def test_the_expert_who_booked_is_paid_their_part_of_the_platform_fee(payment_app: PaymentApp) -> None:
    provider, expert = await payee_with_account(payment_app), await payee_with_account(payment_app, "expert")
    booking_id = uuid.uuid4()
    # Booking gave the expert 10 % of the 88.00 sale; it comes out of our 13.20 fee.
    await paid(
        payment_app,
        booking_id=booking_id,
        provider_id=provider.user_id,
        expert={"expert_id": str(expert.user_id), "fee": "8.80"},
    )
    assert await balance_of(payment_app, expert_payable(expert.user_id)) == 0, "owed once the booking is confirmed"
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    async with payment_app.sessions() as session:
        split = (
            await session.execute(
                select(LedgerEntry.account, LedgerEntry.amount)
                .join(LedgerTransaction)
                .where(LedgerTransaction.booking_id == booking_id, LedgerTransaction.kind == "expert_fee")
            )
        ).all()
    assert sorted(split) == sorted(
        [(PLATFORM_REVENUE, Decimal("8.80")), (expert_payable(expert.user_id), Decimal("-8.80"))]
    )

    await run_payouts(payment_app, T0)
    payouts = {payout.recipient_id: payout for payout in await _payouts_of(payment_app, booking_id)}
    assert payouts[provider.user_id].amount == Decimal("74.80")
    assert payouts[expert.user_id].amount == Decimal("8.80")
    [transfer] = await _transfers_of(payment_app, booking_id)
    assert (transfer["destination"], transfer["amount"]) == (await _account_id(payment_app, expert), 880)
    assert await balance_of(payment_app, expert_payable(expert.user_id)) == 0
    expert_view = await my_payouts(payment_app, expert)
    assert expert_view["totals"] == [{"currency": "EUR", "paid_out": "8.80", "owed": "0.00"}]


async def test_an_experts_part_is_never_more_than_the_platform_fee(payment_app: PaymentApp) -> None:
    expert, provider_id = make_identity("expert"), uuid.uuid4()
    booking_id = uuid.uuid4()
    # A meal: 5 % of 88.00 is 4.40, less than the 8.80 booking gave the expert.
    intent = await paid(
        payment_app,
        booking_id=booking_id,
        provider_id=provider_id,
        category="meal",
        expert={"expert_id": str(expert.user_id), "fee": "8.80"},
    )
    assert Decimal(intent["platform_fee"]) == Decimal("4.40")
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider_id)
    assert await balance_of(payment_app, expert_payable(expert.user_id)) == Decimal("-4.40")


async def test_a_refund_after_a_payout_is_taken_back_and_netted_from_the_next_payout(payment_app: PaymentApp) -> None:
    provider = make_identity("provider")
    first, second = uuid.uuid4(), uuid.uuid4()
    # Paid before the provider had an account: the platform held it and transfers it.
    await paid(payment_app, booking_id=first, provider_id=provider.user_id)
    account_id = (await onboard(payment_app, provider))["account_id"]
    await deliver(payment_app, await stripe_changes_account(payment_app, account_id))
    await confirmed(payment_app, booking_id=first, provider_id=provider.user_id)
    await run_payouts(payment_app, T0)
    [paid_out] = await _payouts_of(payment_app, first)
    assert paid_out.amount == Decimal("74.80")

    # The traveler gets half back after the payout: the provider owes 44.00 less half our fee.
    refund = BookingRefundRequested(booking_id=first, amount=Decimal("44.00"), currency="EUR", reason="late-cancel")
    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(session, refund)
        await look_again_after_a_refund(session, refund)
    await _refunds_made(payment_app, first)
    await run_payouts(payment_app, T0 + timedelta(hours=2))
    transfer, reversed_transfer = await _transfers_of(payment_app, first)
    assert reversed_transfer["id"] == transfer["id"]
    assert transfer["amount_reversed"] == 3740, "the account gives back what the provider owes"
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == Decimal("37.40")
    assert (await my_payouts(payment_app, provider))["totals"] == [
        {"currency": "EUR", "paid_out": "74.80", "owed": "-37.40"}
    ]

    await paid(payment_app, booking_id=second, provider_id=provider.user_id)
    await confirmed(payment_app, booking_id=second, provider_id=provider.user_id, at=T0 + timedelta(days=1))
    await run_payouts(payment_app, T0 + timedelta(days=1))
    [netted] = await _payouts_of(payment_app, second)
    assert (netted.gross, netted.netted, netted.amount, netted.status) == (
        Decimal("74.80"),
        Decimal("37.40"),
        Decimal("37.40"),
        "paid",
    )
    settled = await _payouts_of(payment_app, first)
    assert [(payout.gross, payout.amount, payout.netted_into_id) for payout in settled[1:]] == [
        (Decimal("-37.40"), Decimal(0), netted.id)
    ]
    assert await balance_of(payment_app, provider_payable(provider.user_id)) == 0
    await run_payouts(payment_app, T0 + timedelta(days=2))
    assert len(await _payouts_of(payment_app, second)) == 1, "the debt is settled once"

    shown = await my_payouts(payment_app, provider)
    assert shown["totals"] == [{"currency": "EUR", "paid_out": "112.20", "owed": "0.00"}]
    assert (await _earnings(payment_app, provider))["net"] == "112.20", "earnings and payouts agree"


async def test_a_refund_before_the_experts_payout_takes_back_its_share_of_their_part(payment_app: PaymentApp) -> None:
    provider, expert = (
        await payee_with_account(payment_app),
        await payee_with_account(payment_app, "expert", verified=False),
    )
    booking_id = uuid.uuid4()
    await paid(
        payment_app,
        booking_id=booking_id,
        provider_id=provider.user_id,
        expert={"expert_id": str(expert.user_id), "fee": "8.80"},
    )
    service_ends_at = T0 + timedelta(days=3)
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id, service_ends_at=service_ends_at)
    await run_payouts(payment_app, T0)
    assert await balance_of(payment_app, expert_payable(expert.user_id)) == Decimal("-8.80")

    # Half is refunded before the (new) expert's payout is due: half of their part goes back.
    refund = BookingRefundRequested(booking_id=booking_id, amount=Decimal("44.00"), currency="EUR", reason="change")
    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(session, refund)
        await look_again_after_a_refund(session, refund)
    await _refunds_made(payment_app, booking_id)
    await run_payouts(payment_app, service_ends_at + timedelta(hours=24))

    payouts = {payout.recipient_id: payout for payout in await _payouts_of(payment_app, booking_id)}
    assert payouts[expert.user_id].amount == Decimal("4.40")
    assert await balance_of(payment_app, expert_payable(expert.user_id)) == 0
    assert (await my_payouts(payment_app, expert))["totals"] == [
        {"currency": "EUR", "paid_out": "4.40", "owed": "0.00"}
    ]
