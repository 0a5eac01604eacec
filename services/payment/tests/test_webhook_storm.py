"""A storm of Stripe webhooks for one intent, with duplicates and out of order (failures of an
earlier attempt arriving around the success), leaves one correct state: the payment succeeded
once, one capture in the ledger, one payment.succeeded event and no failure. A bad signature
is 400 and changes nothing."""

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from services.payment.intents.models import Payment
from services.payment.ledger.models import LedgerTransaction
from services.payment.tests.conftest import PaymentApp
from shared.events.models import OutboxMessage
from shared.testing import make_identity


def _signed(payment_app: PaymentApp, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The event as Stripe sends it: the JSON body and its `t=...,v1=...` signature."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    secret = payment_app.settings.stripe_webhook_secret.encode()
    signature = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def _event(event_type: str, intent_id: str) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }


async def _pay_with(payment_app: PaymentApp, intent_id: str, payment_method: str) -> str:
    updated = await payment_app.stripe.post(f"/v1/payment_intents/{intent_id}", data={"payment_method": payment_method})
    assert updated.status_code == 200, updated.text
    confirmed = await payment_app.stripe.post(f"/v1/payment_intents/{intent_id}/confirm")
    status: str = confirmed.json()["status"]
    return status


async def test_duplicated_and_reordered_webhooks_leave_one_correct_state(payment_app: PaymentApp) -> None:
    traveler, booking_id = make_identity("traveler"), uuid.uuid4()
    created = await payment_app.new_intent(booking_id=booking_id, amount="88.00", traveler=traveler)
    assert created.status_code == 201, created.text
    intent_id = created.json()["payment_intent_id"]
    assert await _pay_with(payment_app, intent_id, "pm_card_visa") == "succeeded"

    failed, succeeded = (
        _event("payment_intent.payment_failed", intent_id),
        _event("payment_intent.succeeded", intent_id),
    )
    late_failure = _event("payment_intent.payment_failed", intent_id)
    storm = [failed] * 3 + [succeeded] * 4 + [late_failure] * 2
    random.Random(7).shuffle(storm)
    answers = await asyncio.gather(
        *(
            payment_app.client.post("/payments/webhooks/stripe", content=body, headers=headers)
            for body, headers in (_signed(payment_app, event) for event in storm)
        )
    )
    assert {answer.status_code for answer in answers} == {200}
    outcomes = [answer.json()["outcome"] for answer in answers]
    assert outcomes.count("duplicate") == len(storm) - 3, "each event id is applied once"

    forged_body, forged_headers = _signed(payment_app, _event("payment_intent.payment_failed", intent_id))
    forged = await payment_app.client.post(
        "/payments/webhooks/stripe", content=forged_body + b" ", headers=forged_headers
    )
    assert (forged.status_code, forged.json()["error_code"]) == (400, "INVALID_SIGNATURE")

    async with payment_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))
        captures = await session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.booking_id == booking_id, LedgerTransaction.kind == "capture")
        )
        events = (
            await session.scalars(select(OutboxMessage.event_type).where(OutboxMessage.key == str(booking_id)))
        ).all()
    assert payment is not None
    assert payment.status == "succeeded"
    assert captures == 1
    assert events.count("payment.succeeded") == 1
    # Each event only triggers a re-read of the intent, which Stripe shows succeeded: a failure
    # event that arrives late is not reported as a failure.
    assert "payment.failed" not in events
