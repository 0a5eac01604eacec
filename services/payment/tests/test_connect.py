"""Stripe Connect, through the Connect test double: onboarding makes one Express account per
provider (or expert) however often and however concurrently they ask, each time with a fresh
link; `account.updated` moves the account's status, and neither a repeated nor an older event
undoes it; a single provider whose account takes charges is paid by a destination charge with
the fee from the rules, a cart or a provider without such an account by a platform charge."""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.payment.connect.models import ConnectedAccount
from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.intents.models import Payment
from services.payment.settings import PaymentSettings
from services.payment.tests.conftest import PaymentApp
from services.payment.tests.connect_steps import (
    deliver,
    my_payouts,
    onboard,
    payee_with_account,
    signed,
    stripe_calls,
    stripe_changes_account,
)
from services.payment.webhooks.service import InvalidSignature, verify
from shared.contracts.booking import BookingRefundRequested
from shared.testing import make_identity


async def test_onboarding_makes_one_express_account_and_asking_again_reuses_it_with_a_new_link(
    payment_app: PaymentApp,
) -> None:
    provider = make_identity("provider")
    first, second = await asyncio.gather(onboard(payment_app, provider), onboard(payment_app, provider))
    again = await onboard(payment_app, provider)
    account_id = first["account_id"]
    assert account_id.startswith("acct_")
    assert second["account_id"] == again["account_id"] == account_id
    assert len({first["url"], second["url"], again["url"]}) == 3, "an account link is used once"
    assert first["url"].startswith(str(payment_app.stripe_double.base_url))
    assert first["expires_at"] > "2000"

    async with payment_app.sessions() as session:
        rows = await session.scalar(
            select(func.count()).select_from(ConnectedAccount).where(ConnectedAccount.owner_id == provider.user_id)
        )
    assert rows == 1
    made = await stripe_calls(payment_app, "POST", "/v1/accounts", key_part=str(provider.user_id))
    assert len(made) == 1, "Stripe made one account: every ask carries the provider's idempotency key"
    account = (await payment_app.stripe_double.get(f"/v1/accounts/{account_id}", auth=("sk_test_x", ""))).json()
    assert account["type"] == "express"
    assert account["settings"]["payouts"]["schedule"]["interval"] == "manual"
    assert set(account["capabilities"]) == {"card_payments", "transfers"}
    assert account["metadata"] == {"owner_id": str(provider.user_id), "owner_role": "provider"}

    status = await my_payouts(payment_app, provider)
    assert status["account"]["account_id"] == account_id
    assert (status["account"]["charges_enabled"], status["account"]["verified"]) == (False, False)
    assert status["payouts"] == []


async def test_experts_onboard_for_transfers_and_travelers_cannot_onboard(payment_app: PaymentApp) -> None:
    expert = make_identity("expert")
    account_id = (await onboard(payment_app, expert))["account_id"]
    account = (await payment_app.stripe_double.get(f"/v1/accounts/{account_id}", auth=("sk_test_x", ""))).json()
    assert set(account["capabilities"]) == {"transfers"}, "an expert is only paid, never charged for"

    traveler = make_identity("traveler")
    refused = await payment_app.client.post("/providers/me/payouts/onboarding", headers=payment_app.as_(traveler))
    assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN")
    assert (await payment_app.client.get("/providers/me/payouts", headers=payment_app.as_(traveler))).status_code == 403


async def test_account_updated_moves_the_status_and_a_repeated_or_older_event_does_not_undo_it(
    payment_app: PaymentApp,
) -> None:
    provider = make_identity("provider")
    account_id = (await onboard(payment_app, provider))["account_id"]

    submitted = await stripe_changes_account(
        payment_app,
        account_id,
        charges_enabled=True,
        payouts_enabled=False,
        details_submitted=True,
        currently_due=["external_account"],
    )
    assert await deliver(payment_app, submitted) == "account updated"
    account = (await my_payouts(payment_app, provider))["account"]
    assert (account["charges_enabled"], account["payouts_enabled"], account["verified"]) == (True, False, False)
    assert account["requirements_due"] == ["external_account"]

    verified = await stripe_changes_account(payment_app, account_id)
    assert await deliver(payment_app, verified) == "account verified"
    assert await deliver(payment_app, verified) == "duplicate"
    # The older event arriving late under another delivery: the account is read again from
    # Stripe, which says verified.
    late = submitted | {"id": f"evt_{uuid.uuid4().hex[:16]}"}
    assert await deliver(payment_app, late) == "account verified"
    account = (await my_payouts(payment_app, provider))["account"]
    assert (account["charges_enabled"], account["payouts_enabled"], account["verified"]) == (True, True, True)
    assert account["requirements_due"] == []

    body, headers = signed(payment_app, verified | {"id": f"evt_{uuid.uuid4().hex[:16]}"})
    forged = await payment_app.client.post("/payments/webhooks/stripe", content=body + b" ", headers=headers)
    assert (forged.status_code, forged.json()["error_code"]) == (400, "INVALID_SIGNATURE")

    # An account Stripe has that nobody here onboarded: acknowledged, nothing changes.
    elsewhere = await payment_app.stripe_double.post("/v1/accounts", data={"type": "express"}, auth=("sk_test_x", ""))
    stranger = await stripe_changes_account(payment_app, elsewhere.json()["id"])
    assert await deliver(payment_app, stranger) == "unknown account"


async def test_a_destination_charge_carries_the_providers_account_and_the_fee_from_the_rules(
    payment_app: PaymentApp,
) -> None:
    provider = await payee_with_account(payment_app)
    account_id = (await my_payouts(payment_app, provider))["account"]["account_id"]
    booking_id = uuid.uuid4()
    created = await payment_app.new_intent(booking_id=booking_id, provider_id=provider.user_id, amount="88.00")
    assert created.status_code == 201, created.text
    intent_id = created.json()["payment_intent_id"]
    # Stripe as payment sees it: the double kept what localstripe cannot take.
    intent = (await payment_app.stripe_double.get(f"/v1/payment_intents/{intent_id}", auth=("sk_test_x", ""))).json()
    assert intent["transfer_data"]["destination"] == account_id
    assert intent["application_fee_amount"] == 1320, "the global rule: 15 % of 88.00"
    async with payment_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))
    assert payment is not None
    assert payment.destination_account_id == account_id


async def test_a_refund_of_a_destination_charge_takes_the_money_and_the_fee_back_from_the_account(
    payment_app: PaymentApp,
) -> None:
    provider = await payee_with_account(payment_app)
    booking_id = uuid.uuid4()
    created = await payment_app.new_intent(booking_id=booking_id, provider_id=provider.user_id, amount="88.00")
    intent_id = created.json()["payment_intent_id"]
    await payment_app.pay_at_stripe(intent_id)
    assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"

    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(
            session,
            BookingRefundRequested(booking_id=booking_id, amount=Decimal("44.00"), currency="EUR", reason="cancelled"),
        )
    refunds: list[dict[str, object]] = []
    for _ in range(100):
        listed = await payment_app.stripe_double.get(
            "/v1/refunds", params={"payment_intent": intent_id}, auth=("sk_test_x", "")
        )
        refunds = listed.json()["data"]
        if refunds:
            break
        await asyncio.sleep(0.05)

    [listed_refund] = refunds
    refund = (await payment_app.stripe_double.get(f"/v1/refunds/{listed_refund['id']}", auth=("sk_test_x", ""))).json()
    assert (refund["amount"], refund["reverse_transfer"], refund["refund_application_fee"]) == (4400, True, True)


async def test_a_cart_or_a_provider_who_cannot_take_charges_is_paid_by_a_platform_charge(
    payment_app: PaymentApp,
) -> None:
    newcomer, host, restaurant = (
        make_identity("provider"),
        await payee_with_account(payment_app),
        make_identity("provider"),
    )
    await onboard(payment_app, newcomer)  # onboarding begun, no charges yet
    single = await payment_app.new_intent(provider_id=newcomer.user_id, amount="88.00")
    assert single.status_code == 201, single.text
    cart_id = uuid.uuid4()
    cart = await payment_app.client.post(
        "/internal/payment-intents",
        json={
            "booking_id": str(cart_id),
            "provider_id": str(host.user_id),
            "category": "accommodation",
            "amount": "150.00",
            "currency": "EUR",
            "parts": [
                {
                    "booking_id": str(uuid.uuid4()),
                    "provider_id": str(host.user_id),
                    "category": "accommodation",
                    "amount": "120.00",
                },
                {
                    "booking_id": str(uuid.uuid4()),
                    "provider_id": str(restaurant.user_id),
                    "category": "meal",
                    "amount": "30.00",
                },
            ],
        },
        headers=payment_app.as_(make_identity("traveler")),
    )
    assert cart.status_code == 201, cart.text

    for answer, group in ((single, None), (cart, f"booking-{cart_id}")):
        intent_id = answer.json()["payment_intent_id"]
        intent = (
            await payment_app.stripe_double.get(f"/v1/payment_intents/{intent_id}", auth=("sk_test_x", ""))
        ).json()
        assert "transfer_data" not in intent
        assert "application_fee_amount" not in intent
        assert intent.get("transfer_group") == group


def test_connect_events_may_be_signed_with_the_connect_endpoints_own_secret() -> None:
    event = {"id": "evt_connect", "object": "event", "type": "account.updated", "data": {"object": {"id": "acct_1"}}}
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(b"whsec_connect", f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    header = f"t={timestamp},v1={signature}"
    verified = verify(payload, header, secrets=("whsec_platform", "whsec_connect"), tolerance_seconds=300)
    assert verified.id == "evt_connect"
    with pytest.raises(InvalidSignature):
        verify(payload, header, secrets=("whsec_platform",), tolerance_seconds=300)
    settings = PaymentSettings(stripe_webhook_secret="whsec_platform", stripe_connect_webhook_secret="whsec_connect")
    assert settings.stripe_webhook_secrets() == ("whsec_platform", "whsec_connect")
    assert PaymentSettings(stripe_webhook_secret="whsec_platform").stripe_webhook_secrets() == ("whsec_platform",)
