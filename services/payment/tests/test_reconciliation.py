"""The reconciliation report puts the ledger beside Stripe for every payment of a span of days:
payments both sides agree on are matched, and a payment Stripe took that the ledger never saw,
or a refund made at Stripe behind the platform's back, is listed with both amounts."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.intents.models import Payment
from services.payment.tests.conftest import PaymentApp
from shared.contracts.booking import BookingRefundRequested
from shared.testing import make_identity


async def _intent(payment_app: PaymentApp, amount: str) -> tuple[uuid.UUID, str]:
    booking_id = uuid.uuid4()
    created = await payment_app.new_intent(booking_id=booking_id, amount=amount)
    assert created.status_code == 201, created.text
    return booking_id, created.json()["payment_intent_id"]


async def _refunded_by_the_platform(payment_app: PaymentApp, booking_id: uuid.UUID, amount: str) -> None:
    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(
            session,
            BookingRefundRequested(booking_id=booking_id, amount=Decimal(amount), currency="EUR", reason="cancelled"),
        )
    # The app's own command loop makes it at Stripe.
    for _ in range(100):
        async with payment_app.sessions() as session:
            payment = await session.scalar(select(Payment).where(Payment.booking_id == booking_id))
            if payment is not None and payment.amount_refunded == Decimal(amount):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the refund was not made")


async def _report(payment_app: PaymentApp, **params: str) -> Any:
    today = datetime.now(UTC).date()
    query = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))} | params
    return await payment_app.client.get(
        "/admin/reconciliation", params=query, headers=payment_app.as_(make_identity("admin"))
    )


async def test_the_report_matches_what_agrees_and_lists_what_the_ledger_or_stripe_lost(
    payment_app: PaymentApp,
) -> None:
    paid_and_part_refunded = await _intent(payment_app, "100.00")
    await payment_app.pay_at_stripe(paid_and_part_refunded[1])
    assert await payment_app.stripe_says_succeeded(paid_and_part_refunded[1]) == "succeeded"
    await _refunded_by_the_platform(payment_app, paid_and_part_refunded[0], "30.00")
    never_paid = await _intent(payment_app, "20.00")
    # Paid at Stripe, but its webhook never arrived: the ledger has not captured it.
    webhook_lost = await _intent(payment_app, "45.00")
    await payment_app.pay_at_stripe(webhook_lost[1])
    # Refunded in Stripe's dashboard, not through the platform.
    refunded_behind_our_back = await _intent(payment_app, "60.00")
    await payment_app.pay_at_stripe(refunded_behind_our_back[1])
    assert await payment_app.stripe_says_succeeded(refunded_behind_our_back[1]) == "succeeded"
    made = await payment_app.stripe.post(
        "/v1/refunds", data={"payment_intent": refunded_behind_our_back[1], "amount": 1500}
    )
    assert made.status_code == 200, made.text

    answer = await _report(payment_app)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    mine = {paid_and_part_refunded[1], never_paid[1], webhook_lost[1], refunded_behind_our_back[1]}
    found = sorted(
        (row["payment_intent_id"], row["what"], row["ledger"], row["stripe"])
        for row in report["mismatches"]
        if row["payment_intent_id"] in mine
    )
    assert found == sorted(
        [
            (webhook_lost[1], "status", "requires_payment", "succeeded"),
            (webhook_lost[1], "captured", "0.00", "45.00"),
            (refunded_behind_our_back[1], "refunded", "0.00", "15.00"),
        ]
    )
    assert report["payments_checked"] >= 4
    [eur] = [totals for totals in report["totals"] if totals["currency"] == "EUR"]
    assert Decimal(eur["stripe_captured"]) - Decimal(eur["ledger_captured"]) >= Decimal("45.00")


async def test_the_report_is_for_admins_over_at_most_a_month(payment_app: PaymentApp) -> None:
    as_provider = await payment_app.client.get(
        "/admin/reconciliation",
        params={"from": "2031-05-01", "to": "2031-05-02"},
        headers=payment_app.as_(make_identity("provider")),
    )
    backwards = await _report(payment_app, **{"from": "2031-05-02", "to": "2031-05-01"})
    too_long = await _report(payment_app, **{"from": "2031-01-01", "to": "2031-05-01"})

    assert as_provider.status_code == 403
    assert (backwards.status_code, backwards.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert (too_long.status_code, too_long.json()["error_code"]) == (422, "VALIDATION_ERROR")
