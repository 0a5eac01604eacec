"""A payout the bank refuses: Stripe's `payout.failed` (a Connect event, through the Connect
test double, delivered as the signed webhook Stripe sends) marks the payout failed with Stripe's
reason and tells ops once, with what they need to act, however often Stripe says it."""

import uuid
from typing import Any

from sqlalchemy import select

from services.payment.payouts.models import Payout
from services.payment.tests.conftest import PaymentApp
from services.payment.tests.connect_steps import (
    T0,
    confirmed,
    deliver,
    my_payouts,
    paid,
    payee_with_account,
    run_payouts,
)
from shared.events.models import OutboxMessage


async def _bank_refuses(payment_app: PaymentApp, stripe_payout_id: str) -> dict[str, Any]:
    """The bank sends the payout back; the double answers with the `payout.failed` Stripe sends."""
    answer = await payment_app.stripe_double.post(
        f"/_double/payouts/{stripe_payout_id}/fail",
        json={"failure_code": "account_closed", "failure_message": "The bank account has been closed."},
    )
    assert answer.status_code == 200, answer.text
    event: dict[str, Any] = answer.json()["event"]
    return event


async def test_a_payout_the_bank_refused_is_marked_failed_and_ops_are_told_once(payment_app: PaymentApp) -> None:
    provider = await payee_with_account(payment_app)
    booking_id = uuid.uuid4()
    await paid(payment_app, booking_id=booking_id, provider_id=provider.user_id)
    await confirmed(payment_app, booking_id=booking_id, provider_id=provider.user_id, at=T0)
    await run_payouts(payment_app, T0)
    async with payment_app.sessions() as session:
        [payout] = (await session.scalars(select(Payout).where(Payout.booking_id == booking_id))).all()
    assert payout.status == "paid"
    assert payout.stripe_payout_id is not None

    failed = await _bank_refuses(payment_app, payout.stripe_payout_id)
    assert failed["type"] == "payout.failed"
    assert await deliver(payment_app, failed) == "payout failed"
    assert await deliver(payment_app, failed) == "duplicate"
    # Stripe saying it again in another event changes nothing either.
    assert await deliver(payment_app, await _bank_refuses(payment_app, payout.stripe_payout_id)) == "no change"

    async with payment_app.sessions() as session:
        read = await session.get_one(Payout, payout.id)
        told = (
            await session.scalars(
                select(OutboxMessage.envelope).where(
                    OutboxMessage.event_type == "payment.payout_failed", OutboxMessage.key == str(booking_id)
                )
            )
        ).all()
    assert (read.status, read.failure_code) == ("failed", "account_closed")
    assert read.failed_at is not None
    [event] = told
    assert event["payload"] == {
        "payout_id": str(payout.id),
        "stripe_payout_id": payout.stripe_payout_id,
        "stripe_account_id": payout.stripe_account_id,
        "booking_id": str(booking_id),
        "recipient_id": str(provider.user_id),
        "recipient_role": "provider",
        "amount": "74.80",
        "currency": "EUR",
        "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.",
        "failed_at": read.failed_at.isoformat().replace("+00:00", "Z"),
    }
    shown = await my_payouts(payment_app, provider)
    assert [(row["booking_id"], row["status"]) for row in shown["payouts"]] == [(str(booking_id), "failed")]


async def test_a_failed_payout_that_is_not_ours_tells_nobody(payment_app: PaymentApp) -> None:
    provider = await payee_with_account(payment_app)
    account_id = (await my_payouts(payment_app, provider))["account"]["account_id"]
    # Made at Stripe by someone else (the dashboard, say), not by the payout job.
    made = await payment_app.stripe_double.post(
        "/v1/payouts",
        data={"amount": "1000", "currency": "eur"},
        headers={"Stripe-Account": account_id},
        auth=("sk_test_x", ""),
    )
    assert made.status_code == 200, made.text
    stripe_payout_id = made.json()["id"]

    assert await deliver(payment_app, await _bank_refuses(payment_app, stripe_payout_id)) == "unknown payout"
    async with payment_app.sessions() as session:
        told = (
            await session.scalars(
                select(OutboxMessage.envelope).where(OutboxMessage.event_type == "payment.payout_failed")
            )
        ).all()
    assert [event for event in told if event["payload"]["stripe_payout_id"] == stripe_payout_id] == []
