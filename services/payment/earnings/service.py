"""A provider's earnings, read from the ledger: what their payable account was credited and
debited, per currency, leaving out what was paid out to them.

On a provider's account a capture credits the sale and debits our fee, and a refund debits
what is given back and credits the fee returned (ledger/service.py), so the sign of a line
within its transaction's kind says which it is."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.earnings.schemas import CurrencyEarnings, EarningsOut
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import provider_payable
from shared.errors import InvalidInput
from shared.money import money


async def earnings_of(
    session: AsyncSession, *, provider_id: UUID, from_date: date | None, to_date: date | None
) -> EarningsOut:
    """Gross sales, fees, refunds and the payable balance per currency, over the money movements
    of the days from `from_date` to `to_date` (UTC, both included) when given."""
    if from_date is not None and to_date is not None and from_date > to_date:
        raise InvalidInput("`from` is after `to`.", details={"from": str(from_date), "to": str(to_date)})
    amount, kind = LedgerEntry.amount, LedgerTransaction.kind
    zero = Decimal(0)
    query = (
        select(
            LedgerTransaction.currency,
            func.sum(case((and_(kind == "capture", amount < 0), -amount), else_=zero)),
            func.sum(
                case(
                    (and_(kind == "capture", amount > 0), amount),
                    (and_(kind == "refund", amount < 0), amount),
                    else_=zero,
                )
            ),
            func.sum(case((and_(kind == "refund", amount > 0), amount), else_=zero)),
            # Payouts settle what is owed; they are not earned or lost.
            -func.sum(case((kind != "payout", amount), else_=zero)),
        )
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.account == provider_payable(provider_id))
        .group_by(LedgerTransaction.currency)
        .order_by(LedgerTransaction.currency)
    )
    if from_date is not None:
        query = query.where(LedgerTransaction.occurred_at >= datetime.combine(from_date, time(), UTC))
    if to_date is not None:
        query = query.where(LedgerTransaction.occurred_at < datetime.combine(to_date + timedelta(days=1), time(), UTC))
    rows = (await session.execute(query)).all()
    return EarningsOut(
        provider_id=provider_id,
        from_date=from_date,
        to_date=to_date,
        currencies=[
            CurrencyEarnings(
                currency=currency,
                gross_sales=money(gross, currency),
                platform_fees=money(fees, currency),
                refunds=money(refunds, currency),
                net=money(net, currency),
            )
            for currency, gross, fees, refunds, net in rows
        ],
    )
