"""Saved payment methods against localstripe: a traveler's cards hang off one Stripe Customer,
the default one is what an off-session intent charges (set on the intent, then confirmed by the
command loop), and a traveler without a card, or with a declined one, is not charged."""

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from services.payment.intents.models import Payment, StripeCommand
from services.payment.methods.models import PaymentCustomer
from services.payment.tests.conftest import PaymentApp
from shared.identity import Identity
from shared.testing import make_identity


async def _save(payment_app: PaymentApp, traveler: Identity, payment_method: str, **body: Any) -> Any:
    return await payment_app.client.post(
        "/payments/methods", json={"payment_method": payment_method} | body, headers=payment_app.as_(traveler)
    )


async def _stripe(payment_app: PaymentApp, path: str, **params: str) -> dict[str, Any]:
    answer = await payment_app.stripe.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _intent_once(
    payment_app: PaymentApp, intent_id: str, settled: set[str], within: float = 10
) -> dict[str, Any]:
    """The intent at localstripe once its status is one of `settled`."""
    deadline = time.monotonic() + within
    while True:
        intent = await _stripe(payment_app, f"/v1/payment_intents/{intent_id}")
        if intent["status"] in settled or time.monotonic() > deadline:
            return intent
        await asyncio.sleep(0.1)


async def _off_session_intent(payment_app: PaymentApp, traveler: Identity, amount: str = "88.00") -> Any:
    return await payment_app.new_intent(amount=amount, traveler=traveler, off_session=True)


async def test_a_travelers_cards_share_one_customer_and_the_first_is_the_default(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    first = await _save(payment_app, traveler, "pm_card_visa", make_default=False)
    assert first.status_code == 201, first.text
    assert (first.json()["brand"], first.json()["last4"], first.json()["is_default"]) == ("visa", "4242", True)
    second = await _save(payment_app, traveler, "pm_card_visa", make_default=False)
    assert second.json()["is_default"] is False
    third = await _save(payment_app, traveler, "pm_card_visa")
    assert third.json()["is_default"] is True

    listed = await payment_app.client.get("/payments/methods", headers=payment_app.as_(traveler))
    assert [(method["id"], method["is_default"]) for method in listed.json()["items"]] == [
        (third.json()["id"], True),
        (second.json()["id"], False),
        (first.json()["id"], False),
    ]
    async with payment_app.sessions() as session:
        customers = (
            await session.scalars(select(PaymentCustomer).where(PaymentCustomer.traveler_id == traveler.user_id))
        ).all()
    [customer] = customers
    attached = await _stripe(payment_app, "/v1/payment_methods", customer=customer.stripe_customer_id, type="card")
    assert len(attached["data"]) == 3
    others = await payment_app.client.get("/payments/methods", headers=payment_app.as_(make_identity("traveler")))
    assert others.json()["items"] == []


async def test_a_declined_or_unknown_card_is_refused_and_nothing_is_saved(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    declined = await _save(payment_app, traveler, "pm_card_visa_chargeDeclined")
    assert (declined.status_code, declined.json()["error_code"]) == (402, "CARD_DECLINED")
    unknown = await _save(payment_app, traveler, "pm_nothing_like_it")
    assert (unknown.status_code, unknown.json()["error_code"]) == (422, "VALIDATION_ERROR")
    malformed = await _save(payment_app, traveler, "tok_visa")
    assert malformed.status_code == 422
    by_provider = await _save(payment_app, make_identity("provider"), "pm_card_visa")
    assert by_provider.status_code == 403
    listed = await payment_app.client.get("/payments/methods", headers=payment_app.as_(traveler))
    assert listed.json()["items"] == []


async def test_removing_the_default_card_makes_the_newest_other_one_the_default(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    older = (await _save(payment_app, traveler, "pm_card_visa")).json()
    newer = (await _save(payment_app, traveler, "pm_card_visa", make_default=False)).json()
    path = f"/payments/methods/{older['id']}"
    by_stranger = await payment_app.client.delete(path, headers=payment_app.as_(make_identity("traveler")))
    assert by_stranger.status_code == 404

    removed = await payment_app.client.delete(path, headers=payment_app.as_(traveler))
    assert removed.status_code == 204
    listed = await payment_app.client.get("/payments/methods", headers=payment_app.as_(traveler))
    assert [(method["id"], method["is_default"]) for method in listed.json()["items"]] == [(newer["id"], True)]
    assert (await payment_app.client.delete(path, headers=payment_app.as_(traveler))).status_code == 404


async def test_an_off_session_intent_charges_the_default_card_without_the_traveler(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    saved = (await _save(payment_app, traveler, "pm_card_visa")).json()
    created = await _off_session_intent(payment_app, traveler)
    assert created.status_code == 201, created.text
    intent_id = created.json()["payment_intent_id"]

    charged = await _intent_once(payment_app, intent_id, {"succeeded"})
    assert (charged["status"], charged["amount"], charged["currency"]) == ("succeeded", 8800, "eur")
    async with payment_app.sessions() as session:
        customer = await session.get_one(PaymentCustomer, traveler.user_id)
        confirms = (await session.scalars(select(StripeCommand).where(StripeCommand.kind == "confirm"))).all()
    assert charged["customer"] == customer.stripe_customer_id
    assert charged["payment_method"].startswith("pm_")
    assert charged["payment_method"] != "pm_card_visa", "the card saved for the traveler, not a test token"
    assert saved["is_default"]
    [confirm] = [command for command in confirms if command.idempotency_key == f"confirm:{intent_id}"]
    assert (confirm.status, confirm.attempts) == ("done", 1)


async def test_a_traveler_without_a_saved_card_is_not_charged_off_session(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    refused = await _off_session_intent(payment_app, traveler)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NO_SAVED_PAYMENT_METHOD")
    async with payment_app.sessions() as session:
        payments = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.traveler_id == traveler.user_id)
        )
    assert payments == 0


async def test_a_declined_off_session_charge_is_left_for_the_webhook_to_report(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    # Attaching works; charging it is declined (localstripe's pm_card_chargeCustomerFail).
    assert (await _save(payment_app, traveler, "pm_card_chargeCustomerFail")).status_code == 201
    created = await _off_session_intent(payment_app, traveler, amount="12.00")
    intent_id = created.json()["payment_intent_id"]

    declined = await _intent_once(payment_app, intent_id, {"requires_payment_method", "succeeded"})
    assert (declined["status"], declined["last_payment_error"]["code"]) == ("requires_payment_method", "card_declined")
    deadline = time.monotonic() + 5
    while True:
        async with payment_app.sessions() as session:
            command = await session.scalar(
                select(StripeCommand).where(StripeCommand.idempotency_key == f"confirm:{intent_id}")
            )
        assert command is not None
        if command.status == "done" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert (command.status, command.attempts) == ("done", 1), "a decline is an answer, not an error to retry"
