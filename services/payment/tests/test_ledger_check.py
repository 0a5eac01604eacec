"""The check run after every test finds a transaction that does not balance."""

import uuid
from decimal import Decimal

from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import unbalanced_transactions
from services.payment.tests.conftest import PaymentApp


async def test_a_transaction_that_does_not_sum_to_zero_is_reported(payment_app: PaymentApp) -> None:
    lopsided = LedgerTransaction(
        kind="capture", booking_id=uuid.uuid4(), reference=f"test:{uuid.uuid4()}", currency="XTS"
    )
    lopsided.entries = [
        LedgerEntry(account="stripe_balance", amount=Decimal("10.00")),
        LedgerEntry(account="platform_revenue", amount=Decimal("-9.99")),
    ]
    async with payment_app.sessions() as session, session.begin():
        session.add(lopsided)
    try:
        async with payment_app.sessions() as session:
            assert await unbalanced_transactions(session) == [(lopsided.id, "XTS", Decimal("0.01"))]
    finally:
        async with payment_app.sessions() as session, session.begin():
            await session.delete(await session.get_one(LedgerTransaction, lopsided.id))
