"""The ledger against Stripe: for every payment made in a span of days, what Stripe says was
captured and refunded beside what the ledger posted. A mismatch is money one side lost."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import stripe
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.intents.models import Payment
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import STRIPE_BALANCE
from services.payment.reconciliation.schemas import CurrencyTotals, Mismatch, ReconciliationReport
from shared.errors import BadGateway, InvalidInput
from shared.money import from_minor_units, money

LONGEST_SPAN = timedelta(days=31)
# Stripe calls in flight at once: enough to be quick, few enough to stay under its rate limit.
STRIPE_CONCURRENCY = 8


@dataclass(frozen=True)
class StripeSide:
    status: str
    captured: Decimal
    refunded: Decimal


async def reconcile(
    session: AsyncSession, *, stripe_client: stripe.StripeClient, from_date: date, to_date: date
) -> ReconciliationReport:
    if from_date > to_date:
        raise InvalidInput("`from` is after `to`.", details={"from": str(from_date), "to": str(to_date)})
    if to_date - from_date >= LONGEST_SPAN:
        raise InvalidInput("Reconcile at most 31 days at a time.", details={"from": str(from_date), "to": str(to_date)})
    start = datetime.combine(from_date, time(), UTC)
    end = datetime.combine(to_date + timedelta(days=1), time(), UTC)
    # A payment made with credit only never went to Stripe: there is nothing to compare.
    payments = [
        payment
        for payment in (
            await session.scalars(
                select(Payment)
                .where(Payment.created_at >= start, Payment.created_at < end)
                .order_by(Payment.created_at)
            )
        ).all()
        if payment.at_stripe
    ]
    captured, refunded = await _ledger_side(session, [payment.payment_intent_id for payment in payments])
    stripe_sides = await _stripe_side(stripe_client, [payment.payment_intent_id for payment in payments])

    mismatches: list[Mismatch] = []
    totals: dict[str, dict[str, Decimal]] = {}
    for payment in payments:
        ours_captured = captured.get(payment.payment_intent_id, Decimal(0))
        ours_refunded = refunded.get(payment.payment_intent_id, Decimal(0))
        theirs = stripe_sides[payment.payment_intent_id]
        found = _disagreements(payment, ours_captured, ours_refunded, theirs)
        mismatches += found
        currency = totals.setdefault(payment.currency, dict.fromkeys(_TOTAL_FIELDS, Decimal(0)))
        currency["ledger_captured"] += ours_captured
        currency["stripe_captured"] += theirs.captured
        currency["ledger_refunded"] += ours_refunded
        currency["stripe_refunded"] += theirs.refunded
        currency["refunds_in_flight"] += payment.amount_refund_decided - payment.amount_refunded
    return ReconciliationReport(
        from_date=from_date,
        to_date=to_date,
        payments_checked=len(payments),
        matched=len(payments) - len({mismatch.payment_intent_id for mismatch in mismatches}),
        mismatches=mismatches,
        totals=[
            CurrencyTotals(currency=code, **{name: money(value, code) for name, value in sums.items()})
            for code, sums in sorted(totals.items())
        ],
    )


_TOTAL_FIELDS = ("ledger_captured", "stripe_captured", "ledger_refunded", "stripe_refunded", "refunds_in_flight")


def _disagreements(payment: Payment, captured: Decimal, refunded: Decimal, stripe_side: StripeSide) -> list[Mismatch]:
    def mismatch(what: str, ours: object, theirs: object) -> Mismatch:
        return Mismatch.model_validate(
            {
                "payment_intent_id": payment.payment_intent_id,
                "booking_id": payment.booking_id,
                "currency": payment.currency,
                "what": what,
                "ledger": str(ours),
                "stripe": str(theirs),
            }
        )

    found = []
    if (stripe_side.status == "succeeded") != (payment.status == "succeeded"):
        found.append(mismatch("status", payment.status, stripe_side.status))
    if captured != stripe_side.captured:
        found.append(
            mismatch("captured", money(captured, payment.currency), money(stripe_side.captured, payment.currency))
        )
    if refunded != stripe_side.refunded:
        found.append(
            mismatch("refunded", money(refunded, payment.currency), money(stripe_side.refunded, payment.currency))
        )
    return found


async def _ledger_side(session: AsyncSession, intent_ids: list[str]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """What the ledger moved into Stripe's balance for each intent (captures) and out of it
    (refunds); their references name the intent (`capture:<pi>`, `refund:<pi>:<n>`)."""
    intent = func.split_part(LedgerTransaction.reference, ":", 2)
    rows = await session.execute(
        select(intent, LedgerTransaction.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerEntry.account == STRIPE_BALANCE,
            LedgerTransaction.kind.in_(("capture", "refund")),
            intent.in_(intent_ids),
        )
        .group_by(intent, LedgerTransaction.kind)
    )
    captured: dict[str, Decimal] = {}
    refunded: dict[str, Decimal] = {}
    for intent_id, kind, amount in rows.all():
        if kind == "capture":
            captured[intent_id] = Decimal(amount)
        else:
            refunded[intent_id] = -Decimal(amount)
    return captured, refunded


async def _stripe_side(stripe_client: stripe.StripeClient, intent_ids: list[str]) -> dict[str, StripeSide]:
    limit = asyncio.Semaphore(STRIPE_CONCURRENCY)

    async def read(intent_id: str) -> StripeSide:
        async with limit:
            intent = await stripe_client.v1.payment_intents.retrieve_async(intent_id)
            if intent.status != "succeeded":
                # Nothing was captured, so nothing can have been refunded.
                return StripeSide(status=intent.status, captured=Decimal(0), refunded=Decimal(0))
            refunds = await stripe_client.v1.refunds.list_async(params={"payment_intent": intent_id, "limit": 100})
        # Stripe's amounts are in the minor units of the intent's currency.
        refunded = sum(
            (
                from_minor_units(refund.amount, intent.currency)
                for refund in refunds.data
                if refund.status == "succeeded"
            ),
            Decimal(0),
        )
        return StripeSide(
            status=intent.status, captured=from_minor_units(intent.amount, intent.currency), refunded=refunded
        )

    try:
        sides = await asyncio.gather(*(read(intent_id) for intent_id in intent_ids))
    except stripe.StripeError as error:
        raise BadGateway(f"Stripe could not be read: {error.user_message or 'unavailable'}") from None
    return dict(zip(intent_ids, sides, strict=True))
