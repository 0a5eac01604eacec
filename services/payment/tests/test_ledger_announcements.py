"""Every ledger transaction is announced in its own transaction, as written: a capture's and a
refund's event carry their rows' kind, reference, time and entries; and the transactions written
before announcements existed are announced once by the migration that brought them."""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import select

from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.tests.conftest import PaymentApp
from shared.contracts.booking import BookingRefundRequested
from shared.contracts.payment import LedgerTransactionRecorded
from shared.events.envelope import EventEnvelope
from shared.events.models import OutboxMessage
from shared.migrations import alembic_config

MIGRATIONS = Path("services/payment/migrations")


async def _announced(payment_app: PaymentApp, booking_id: uuid.UUID) -> list[LedgerTransactionRecorded]:
    async with payment_app.sessions() as session:
        envelopes = (
            await session.scalars(
                select(OutboxMessage.envelope)
                .where(
                    OutboxMessage.event_type == "payment.ledger_transaction_recorded",
                    OutboxMessage.key == str(booking_id),
                )
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [
        LedgerTransactionRecorded.model_validate(EventEnvelope.model_validate(envelope).payload)
        for envelope in envelopes
    ]


async def _written(payment_app: PaymentApp, booking_id: uuid.UUID) -> list[tuple[object, ...]]:
    async with payment_app.sessions() as session:
        transactions = (
            await session.scalars(
                select(LedgerTransaction)
                .where(LedgerTransaction.booking_id == booking_id)
                .order_by(LedgerTransaction.occurred_at, LedgerTransaction.reference)
            )
        ).all()
        return [
            (
                transaction.id,
                transaction.kind,
                transaction.reference,
                transaction.occurred_at,
                sorted(
                    (entry.account, entry.amount)
                    for entry in await session.scalars(
                        select(LedgerEntry).where(LedgerEntry.transaction_id == transaction.id)
                    )
                ),
            )
            for transaction in transactions
        ]


def _as_written(event: LedgerTransactionRecorded) -> tuple[object, ...]:
    return (
        event.transaction_id,
        event.kind,
        event.reference,
        event.occurred_at,
        sorted((line.account, line.amount) for line in event.entries),
    )


async def test_a_capture_and_a_refund_are_announced_as_their_rows_say(payment_app: PaymentApp) -> None:
    booking_id = uuid.uuid4()
    created = await payment_app.new_intent(amount="88.00", booking_id=booking_id)
    intent_id = created.json()["payment_intent_id"]
    await payment_app.pay_at_stripe(intent_id)
    assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"
    async with payment_app.sessions() as session, session.begin():
        await refund_what_booking_decided(
            session,
            BookingRefundRequested(booking_id=booking_id, amount=Decimal("44.00"), currency="EUR", reason="cancelled"),
        )
    for _ in range(200):
        if len(await _written(payment_app, booking_id)) == 2:
            break
        await asyncio.sleep(0.05)

    written = await _written(payment_app, booking_id)
    assert [row[1] for row in written] == ["capture", "refund"]
    announced = sorted((_as_written(event) for event in await _announced(payment_app, booking_id)), key=str)
    assert announced == sorted(written, key=str)
    assert all(event.currency == "EUR" for event in await _announced(payment_app, booking_id))


async def test_the_transactions_written_before_announcements_are_announced_once_by_the_migration(
    payment_app: PaymentApp, database_url: str
) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["database_url"] = database_url
    await asyncio.to_thread(command.downgrade, config, "0011")
    booking_id = uuid.uuid4()
    async with payment_app.sessions() as session, session.begin():
        session.add(
            LedgerTransaction(
                kind="credit_grant",
                booking_id=booking_id,
                reference=f"credit_grant:{booking_id}",
                currency="KWD",
                occurred_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
                entries=[
                    LedgerEntry(account="platform_credit_expense", amount=Decimal("1.250")),
                    LedgerEntry(account=f"traveler_credit:{uuid.uuid4()}", amount=Decimal("-1.250")),
                ],
            )
        )
    assert await _announced(payment_app, booking_id) == []

    await asyncio.to_thread(command.upgrade, config, "head")

    [event] = await _announced(payment_app, booking_id)
    assert [_as_written(event)] == await _written(payment_app, booking_id)
    assert (event.booking_id, event.currency) == (booking_id, "KWD")
