"""The platform fee of a payment comes from the fee rules when its intent is made: a cart's
payment takes each part's fee by its own category, the capture posts each provider's share
less that fee, and each provider's earnings show it."""

import uuid
from decimal import Decimal

from sqlalchemy import select

from services.payment.intents.models import Payment
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import provider_payable
from services.payment.tests.conftest import PaymentApp
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


async def _earnings(payment_app: PaymentApp, provider: Identity) -> list[dict[str, str]]:
    answer = await payment_app.client.get("/providers/me/earnings", headers=payment_app.as_(provider))
    assert answer.status_code == 200, answer.text
    currencies: list[dict[str, str]] = answer.json()["currencies"]
    return currencies


async def test_a_cart_payment_takes_each_parts_fee_by_its_category_and_posts_each_providers_share(
    payment_app: PaymentApp,
) -> None:
    traveler, host, restaurant = make_identity("traveler"), make_identity("provider"), make_identity("provider")
    cart_id, stay_id, dinner_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    created = await payment_app.client.post(
        "/internal/payment-intents",
        json={
            "booking_id": str(cart_id),
            "provider_id": str(host.user_id),
            "category": "accommodation",
            "amount": "150.00",
            "currency": "EUR",
            "parts": [
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
        },
        headers=payment_app.as_(traveler),
    )
    assert created.status_code == 201, created.text
    # Seeded rules: accommodation 7.5 % of 120.00, meal 5 % of 30.00.
    assert Decimal(created.json()["platform_fee"]) == Decimal("10.50")
    intent_id = created.json()["payment_intent_id"]
    async with payment_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))
    assert payment is not None
    assert payment.platform_fee == Decimal("10.50")
    assert [(part["category"], part["amount"], part["platform_fee"]) for part in payment.parts or ()] == [
        ("accommodation", "120.00", "9.00"),
        ("meal", "30.00", "1.50"),
    ]

    await payment_app.pay_at_stripe(intent_id)
    assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"

    async with payment_app.sessions() as session:
        entries = (
            await session.execute(
                select(LedgerEntry.account, LedgerEntry.amount)
                .join(LedgerTransaction)
                .where(LedgerTransaction.reference == f"capture:{intent_id}")
            )
        ).all()
        [succeeded] = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.key == str(cart_id), OutboxMessage.event_type == "payment.succeeded"
                )
            )
        ).all()
    balances: dict[str, Decimal] = {}
    for account, amount in entries:
        balances[account] = balances.get(account, Decimal(0)) + amount
    assert balances == {
        "stripe_balance": Decimal("150.00"),
        "platform_revenue": Decimal("-10.50"),
        provider_payable(host.user_id): Decimal("-111.00"),
        provider_payable(restaurant.user_id): Decimal("-28.50"),
    }
    assert Decimal(succeeded.envelope["payload"]["platform_fee"]) == Decimal("10.50")

    assert await _earnings(payment_app, host) == [
        {"currency": "EUR", "gross_sales": "120.00", "platform_fees": "9.00", "refunds": "0.00", "net": "111.00"}
    ]
    assert await _earnings(payment_app, restaurant) == [
        {"currency": "EUR", "gross_sales": "30.00", "platform_fees": "1.50", "refunds": "0.00", "net": "28.50"}
    ]


async def test_a_tour_with_no_rule_of_its_own_takes_the_global_fee(payment_app: PaymentApp) -> None:
    created = await payment_app.new_intent(amount="88.00")
    assert created.status_code == 201, created.text
    assert Decimal(created.json()["platform_fee"]) == Decimal("13.20")


async def test_earnings_are_for_providers_only_and_a_bad_range_is_refused(payment_app: PaymentApp) -> None:
    traveler = await payment_app.client.get(
        "/providers/me/earnings", headers=payment_app.as_(make_identity("traveler"))
    )
    assert traveler.status_code == 403, traveler.text
    provider = make_identity("provider")
    assert await _earnings(payment_app, provider) == []
    backwards = await payment_app.client.get(
        "/providers/me/earnings", params={"from": "2031-05-04", "to": "2031-05-01"}, headers=payment_app.as_(provider)
    )
    assert backwards.status_code == 422, backwards.text
