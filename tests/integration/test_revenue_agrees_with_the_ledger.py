"""Analytics' revenue equals payment's ledger to the cent, per currency and per provider: payment,
run in this process against localstripe, captures (part paid with credit), refunds (to the card
and to the credit) and grants a credit; the ledger events its outbox holds go through analytics'
consumer with the bookings' confirmations (some before, some after the money); analytics' totals
then equal sums taken from payment's ledger tables directly."""

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.analytics.revenue.service import UNATTRIBUTED
from services.analytics.tests.conftest import Booking, RevenueEvents, confirmed, new_booking
from services.payment.credits.service import grant
from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.intents.models import Payment
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.tests.conftest import PaymentApp
from shared.contracts.booking import BookingRefundRequested
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity

CONFIRMED_AT = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
# Wide enough for every movement: captures at the wall clock's time, the rest at payment's clock.
EVER = (date(2026, 1, 1), date(2031, 12, 31))


async def _paid(
    payment_app: PaymentApp, booking: Booking, amount: str, *, traveler_id: uuid.UUID, use_credit: bool = False
) -> None:
    created = await payment_app.client.post(
        "/internal/payment-intents",
        json={
            "booking_id": str(booking.booking_id),
            "provider_id": str(booking.provider_id),
            "category": booking.category,
            "amount": amount,
            "currency": booking.currency,
            "use_credit": use_credit,
        },
        headers=payment_app.as_(Identity(user_id=traveler_id, email="traveler@example.com", roles=("traveler",))),
    )
    assert created.status_code == 201, created.text
    intent_id = created.json()["payment_intent_id"]
    await payment_app.pay_at_stripe(intent_id)
    assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"


async def _refunded(payment_app: PaymentApp, booking: Booking, amount: str) -> None:
    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(
            session,
            BookingRefundRequested(
                booking_id=booking.booking_id, amount=Decimal(amount), currency=booking.currency, reason="cancelled"
            ),
        )
    for _ in range(200):
        async with payment_app.sessions() as session:
            refunded = await session.scalar(
                select(Payment.amount_refunded).where(Payment.booking_id == booking.booking_id)
            )
        if refunded == Decimal(amount):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the refund of {booking.booking_id} was not made in time")


async def _ledger_events(payment_app: PaymentApp, booking_ids: list[uuid.UUID]) -> list[EventEnvelope]:
    async with payment_app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.envelope)
            .where(
                OutboxMessage.event_type == "payment.ledger_transaction_recorded",
                OutboxMessage.key.in_([str(booking_id) for booking_id in booking_ids]),
            )
            .order_by(OutboxMessage.id)
        )
        return [EventEnvelope.model_validate(row) for row in rows]


async def _ledger_sums(payment_app: PaymentApp, booking_ids: list[uuid.UUID]) -> dict[str, Any]:
    """From payment's tables: each provider's sales, refunds and fees by currency (their
    payable's lines by kind), and each currency's platform revenue and credit granted."""
    async with payment_app.sessions() as session:
        rows = (
            await session.execute(
                select(LedgerTransaction.kind, LedgerTransaction.currency, LedgerEntry.account, LedgerEntry.amount)
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .where(LedgerTransaction.booking_id.in_(booking_ids))
            )
        ).all()
    providers: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    currencies: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for kind, currency, account, amount in rows:
        if account.startswith("provider_payable:"):
            sums = providers[(account.removeprefix("provider_payable:"), currency)]
            if kind == "capture":
                sums["gmv" if amount < 0 else "platform_fees"] += abs(amount)
            elif kind == "refund":
                sums["refunds" if amount > 0 else "platform_fees"] += amount
        elif account == "platform_revenue":
            currencies[currency]["platform_fees"] -= amount
        elif account == "platform_credit_expense":
            currencies[currency]["credits"] += amount
    return {"providers": providers, "currencies": currencies}


async def test_analytics_revenue_equals_the_ledgers_sums_per_currency_and_per_provider(
    payment_app: PaymentApp, revenue_events: RevenueEvents
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    traveler = uuid.uuid4()
    with_credit, in_yen = new_booking(first), new_booking(first, currency="JPY", category="activity")
    in_euros, in_dinars = new_booking(second), new_booking(second, currency="KWD")
    # A booking the provider cancelled earlier: its credit is the traveler's to spend.
    goodwill = new_booking(uuid.uuid4())
    async with payment_app.sessions() as session, session.begin():
        await grant(
            session,
            traveler_id=traveler,
            currency="EUR",
            amount=Decimal("50.00"),
            booking_id=goodwill.booking_id,
            reason="the boat is broken",
            now=CONFIRMED_AT,
        )

    await _paid(payment_app, with_credit, "80.00", traveler_id=traveler, use_credit=True)
    await _paid(payment_app, in_yen, "9095", traveler_id=traveler)
    await _paid(payment_app, in_euros, "72.86", traveler_id=traveler)
    await _paid(payment_app, in_dinars, "22.470", traveler_id=traveler)
    await _refunded(payment_app, with_credit, "40.00")
    await _refunded(payment_app, in_euros, "36.43")
    await _refunded(payment_app, in_dinars, "11.240")

    bookings = [with_credit, in_yen, in_euros, in_dinars, goodwill]
    booking_ids = [booking.booking_id for booking in bookings]
    money = await _ledger_events(payment_app, booking_ids)
    assert len(money) == 9  # a grant, four captures, four refunds (one split into card and credit)
    # One booking confirmed before its money arrives, the others after.
    await revenue_events.consume(confirmed(with_credit, at=CONFIRMED_AT))
    await revenue_events.consume(*money)
    await revenue_events.consume(*(confirmed(booking, at=CONFIRMED_AT) for booking in (in_yen, in_euros, in_dinars)))

    ledger = await _ledger_sums(payment_app, booking_ids)
    admin = make_identity("admin")
    by_provider = await revenue_events.report(admin, start=EVER[0], end=EVER[1], group_by="provider")
    assert {
        (group.group, group.currency): {
            "gmv": group.gmv,
            "refunds": group.refunds,
            "platform_fees": group.platform_fees,
        }
        for group in by_provider.groups
        if group.group != UNATTRIBUTED
    } == {
        key: {name: sums[name] for name in ("gmv", "refunds", "platform_fees")}
        for key, sums in ledger["providers"].items()
    }
    assert {(str(first), "EUR"), (str(first), "JPY"), (str(second), "EUR"), (str(second), "KWD")} == set(
        ledger["providers"]
    )

    by_currency = await revenue_events.report(admin, start=EVER[0], end=EVER[1], group_by="currency")
    assert {
        group.currency: (group.platform_fees - (group.expert_fees or 0), group.credits) for group in by_currency.groups
    } == {currency: (sums["platform_fees"], sums["credits"]) for currency, sums in ledger["currencies"].items()}
    euros = next(group for group in by_currency.groups if group.currency == "EUR")
    assert (euros.gmv, euros.refunds, euros.credits, euros.credits_spent) == (
        Decimal("152.86"),
        Decimal("76.43"),
        Decimal("50.00"),
        Decimal("25.00"),
    )

    # A provider sees their own, whatever they ask.
    own = await revenue_events.report(
        Identity(user_id=second, email="provider@example.com", roles=("provider",)),
        start=EVER[0],
        end=EVER[1],
        group_by="provider",
    )
    assert {(group.group, group.currency) for group in own.groups} == {(str(second), "EUR"), (str(second), "KWD")}
