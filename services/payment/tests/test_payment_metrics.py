"""`payment_stripe_webhooks_total` counts Stripe's webhooks by type and outcome, and
`payment_payments_total` the payments they settle, by outcome."""

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from services.payment.tests.conftest import PaymentApp
from services.payment.tests.test_webhook_storm import _event, _signed

Series = dict[tuple[tuple[str, str], ...], float]


async def _scraped(payment_app: PaymentApp, name: str) -> Series:
    text = (await payment_app.client.get("/metrics")).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def _webhook(payment_app: PaymentApp, body: bytes, headers: dict[str, str]) -> int:
    answer = await payment_app.client.post("/payments/webhooks/stripe", content=body, headers=headers)
    return answer.status_code


async def test_webhooks_are_counted_by_type_and_outcome_and_payments_by_outcome(payment_app: PaymentApp) -> None:
    paid = (await payment_app.new_intent(amount="88.00")).json()["payment_intent_id"]
    await payment_app.pay_at_stripe(paid)
    succeeded = _signed(payment_app, _event("payment_intent.succeeded", paid))
    assert await _webhook(payment_app, *succeeded) == 200
    assert await _webhook(payment_app, *succeeded) == 200

    # Not paid at Stripe: its failure event is a failed payment.
    unpaid = (await payment_app.new_intent(amount="40.00")).json()["payment_intent_id"]
    assert await _webhook(payment_app, *_signed(payment_app, _event("payment_intent.payment_failed", unpaid))) == 200
    assert await _webhook(payment_app, *_signed(payment_app, _event("charge.refunded", paid))) == 200
    forged_body, forged_headers = _signed(payment_app, _event("payment_intent.succeeded", paid))
    assert await _webhook(payment_app, forged_body + b" ", forged_headers) == 400

    webhooks = await _scraped(payment_app, "payment_stripe_webhooks_total")
    assert {labels: value for labels, value in webhooks.items() if value} == {
        (("outcome", "processed"), ("type", "payment_intent.succeeded")): 1,
        (("outcome", "duplicate"), ("type", "payment_intent.succeeded")): 1,
        (("outcome", "processed"), ("type", "payment_intent.payment_failed")): 1,
        (("outcome", "ignored"), ("type", "charge.refunded")): 1,
        (("outcome", "invalid"), ("type", "unverified")): 1,
    }
    async with asyncio.timeout(10):
        while (payments := await _scraped(payment_app, "payment_payments_total")) != {
            (("outcome", "succeeded"),): 1,
            (("outcome", "failed"),): 1,
        }:
            await asyncio.sleep(0.05)
    assert payments[(("outcome", "succeeded"),)] == 1
