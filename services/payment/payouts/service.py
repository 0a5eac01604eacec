"""Payouts: what a confirmed booking's provider (and the expert who booked it) are owed is paid
to their connected account's bank when the payout policy says, once, through Stripe, and posted
in the ledger. How the money travels, and what a refund after a payout does: payouts/domain.py.

A job decides and then makes the Stripe calls. Deciding takes the recipient's account row lock,
so two jobs never decide for one recipient at once, and writes each payout and transfer with its
idempotency key (per booking, recipient and sequence) before Stripe is called: a retry after a
crash or a failure sends the same call, which Stripe answers once."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import stripe
from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.payment.connect.models import ConnectedAccount
from services.payment.connect.service import account_out
from services.payment.intents.models import Payment, StripeCommand
from services.payment.intents.service import PRODUCER, shares
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import (
    expert_payable,
    expert_share_postings,
    payout_postings,
    provider_payable,
    record,
)
from services.payment.payouts.domain import PolicyRule, due_at, net_debts, retry_delay, tier_of, transfer_group
from services.payment.payouts.models import Payout, PayoutPolicy, PayoutSchedule, PayoutTransfer
from services.payment.payouts.schemas import PayoutOut, PayoutsOut, PayoutTotals
from shared.contracts.payment import PayoutFailed
from shared.events.outbox import add_event
from shared.money import money, to_minor_units

logger = logging.getLogger(__name__)

# The expert's part of our fee, passed on to them (or taken back after a refund).
EXPERT_FEE = "expert_fee"


# What bookings and captures tell the payouts


async def schedule_payouts(
    session: AsyncSession,
    *,
    booking_id: UUID,
    provider_id: UUID,
    currency: str,
    confirmed_at: datetime,
    service_ends_at: datetime,
) -> None:
    """A confirmed booking's money is owed to its provider, and to the expert who booked it: their
    part of our fee becomes theirs now (a booking refunded before it was confirmed never owed
    them anything)."""
    payments = (
        await session.scalars(
            select(Payment).where(
                Payment.booking_id == booking_id, Payment.expert_id.is_not(None), Payment.status == "succeeded"
            )
        )
    ).all()
    experts = {payment.expert_id for payment in payments if payment.expert_id is not None}
    recipients = [(provider_id, "provider")] + [(expert_id, "expert") for expert_id in sorted(experts)]
    for expert_id in sorted(experts):
        await _settle_expert_share(
            session,
            booking_id=booking_id,
            expert_id=expert_id,
            currency=currency,
            payments=payments,
            now=confirmed_at,
        )
    for recipient_id, role in recipients:
        await session.execute(
            insert(PayoutSchedule)
            .values(
                booking_id=booking_id,
                recipient_id=recipient_id,
                recipient_role=role,
                currency=currency,
                confirmed_at=confirmed_at,
                service_ends_at=service_ends_at,
                open=True,
            )
            .on_conflict_do_nothing(index_elements=[PayoutSchedule.booking_id, PayoutSchedule.recipient_id])
        )


async def move_service_end(session: AsyncSession, *, booking_id: UUID, service_ends_at: datetime) -> None:
    """The booking moved to another slot: its new end is what a new provider's payout waits for."""
    await session.execute(
        update(PayoutSchedule)
        .where(PayoutSchedule.booking_id == booking_id)
        .values(service_ends_at=service_ends_at, open=True)
    )


async def reopen(session: AsyncSession, *, booking_ids: list[UUID]) -> None:
    """Money of these bookings moved (a capture, a refund decided): look at their payouts again."""
    await session.execute(
        update(PayoutSchedule)
        .where(PayoutSchedule.booking_id.in_(booking_ids), PayoutSchedule.open.is_(False))
        .values(open=True)
    )


async def after_capture(session: AsyncSession, *, payment: Payment) -> None:
    """In the capture's transaction: the payouts of the bookings paid for are looked at again (a
    balance paid after a first payout is owed too)."""
    await reopen(session, booking_ids=[share.booking_id for share in shares(payment)])


# The job


@dataclass(frozen=True)
class RetryPolicy:
    first: timedelta
    longest: timedelta


async def pay_due_payouts(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stripe_client: stripe.StripeClient,
    now: datetime,
    retry: RetryPolicy,
) -> int:
    """Decide what is due to every recipient with a usable account, then make the transfers and
    payouts decided (these and earlier ones not yet made); returns how many things were done."""
    async with session_factory() as session:
        policy = {
            row.tier: PolicyRule(anchor=row.anchor, delay=timedelta(hours=row.delay_hours))
            for row in (await session.scalars(select(PayoutPolicy))).all()
        }
        recipients = (
            await session.scalars(
                select(PayoutSchedule.recipient_id)
                .join(ConnectedAccount, ConnectedAccount.owner_id == PayoutSchedule.recipient_id)
                .where(PayoutSchedule.open, ConnectedAccount.payouts_enabled, PayoutSchedule.confirmed_at <= now)
                .distinct()
            )
        ).all()
    done = 0
    for recipient_id in recipients:
        async with session_factory() as session, session.begin():
            done += await _decide(session, recipient_id=recipient_id, policy=policy, now=now)
    done += await _make_transfers(session_factory, stripe_client=stripe_client, now=now, retry=retry)
    done += await _make_payouts(session_factory, stripe_client=stripe_client, now=now, retry=retry)
    return done


@dataclass(frozen=True)
class Position:
    """Where a booking's money for one recipient stands."""

    # What the booking owes them now: captured, less our fee, less refunds.
    owed: Decimal
    # Of which the platform holds (the rest is on their connected account: destination charges).
    held: Decimal
    # A refund is decided and not yet made: wait for it.
    refund_pending: bool
    transfer_group: str


async def _decide(session: AsyncSession, *, recipient_id: UUID, policy: dict[str, PolicyRule], now: datetime) -> int:
    account = await session.get(ConnectedAccount, recipient_id, with_for_update={"skip_locked": True})
    if account is None or not account.payouts_enabled:
        return 0  # another job is deciding for them, or they cannot be paid out
    rule = policy.get(tier_of(verified=account.verified))
    if rule is None:
        logger.warning("no payout policy for the %s tier", tier_of(verified=account.verified))
        return 0
    schedules = (
        await session.scalars(
            select(PayoutSchedule)
            .where(PayoutSchedule.recipient_id == recipient_id, PayoutSchedule.open)
            .order_by(PayoutSchedule.confirmed_at, PayoutSchedule.booking_id)
            .with_for_update()
        )
    ).all()
    decided = 0
    new_payouts: list[Payout] = []
    debts: list[tuple[UUID, Decimal]] = []
    for schedule in schedules:
        if due_at(rule, confirmed_at=schedule.confirmed_at, service_ends_at=schedule.service_ends_at) > now:
            continue
        position = await _position(session, schedule=schedule, now=now)
        if position.refund_pending:
            continue
        transfers = await _decide_transfer(session, schedule=schedule, account=account, position=position, now=now)
        released = await _released(session, schedule=schedule)
        gross = position.owed - released
        if gross > 0:
            payout = Payout(
                booking_id=schedule.booking_id,
                recipient_id=recipient_id,
                recipient_role=schedule.recipient_role,
                sequence=await _next_sequence(session, Payout, schedule),
                currency=schedule.currency,
                gross=gross,
                netted=Decimal(0),
                amount=gross,
                stripe_account_id=account.stripe_account_id,
                status="pending",
                decided_at=now,
            )
            payout.idempotency_key = f"payout:{schedule.booking_id}:{recipient_id}:{payout.sequence}"
            session.add(payout)
            new_payouts.append(payout)
        elif gross < 0:
            debts.append((schedule.booking_id, -gross))
        if gross == 0 and not transfers:
            schedule.open = False
        decided += transfers + int(gross > 0)
    await session.flush()
    for payout in new_payouts:
        for netting in net_debts(payout.gross, debts):
            await _net(session, payout=payout, debtor_booking_id=netting.debtor_booking_id, amount=netting.amount)
            left = {netting.debtor_booking_id: netting.amount}
            debts = [(booking, debt - left.get(booking, Decimal(0))) for booking, debt in debts]
    return decided


async def _net(session: AsyncSession, *, payout: Payout, debtor_booking_id: UUID, amount: Decimal) -> None:
    """Take a debt of another booking off `payout`; the debt is settled by a row of its own."""
    debtor = await session.get_one(PayoutSchedule, (debtor_booking_id, payout.recipient_id))
    sequence = await _next_sequence(session, Payout, debtor)
    session.add(
        Payout(
            booking_id=debtor_booking_id,
            recipient_id=payout.recipient_id,
            recipient_role=payout.recipient_role,
            sequence=sequence,
            currency=payout.currency,
            gross=-amount,
            netted=-amount,
            amount=Decimal(0),
            netted_into_id=payout.id,
            stripe_account_id=payout.stripe_account_id,
            idempotency_key=f"netting:{debtor_booking_id}:{payout.recipient_id}:{sequence}",
            status="netted",
            decided_at=payout.decided_at,
        )
    )
    payout.netted += amount
    payout.amount = payout.gross - payout.netted
    if payout.amount == 0:
        payout.status = "netted"
    await session.flush()


async def _decide_transfer(
    session: AsyncSession, *, schedule: PayoutSchedule, account: ConnectedAccount, position: Position, now: datetime
) -> int:
    """Bring what the platform moved to the account for this booking to what it held and still
    owes: a transfer of the rest, or reversals when a refund came after the transfer. Returns
    how many were decided."""
    transfers = (
        await session.scalars(
            select(PayoutTransfer)
            .where(
                PayoutTransfer.booking_id == schedule.booking_id, PayoutTransfer.recipient_id == schedule.recipient_id
            )
            .order_by(PayoutTransfer.sequence)
        )
    ).all()
    delta = position.held - sum((transfer.amount for transfer in transfers), Decimal(0))
    if delta == 0:
        return 0
    sequence = max((transfer.sequence for transfer in transfers), default=0)
    reversible = _reversible(transfers) if delta < 0 else [(None, delta)]
    left = abs(delta)
    decided = 0
    for reverses_id, room in reversible:
        if left <= 0:
            break
        part = min(left, room)
        sequence += 1
        decided += 1
        kind = "transfer" if reverses_id is None else "transfer-reversal"
        session.add(
            PayoutTransfer(
                booking_id=schedule.booking_id,
                recipient_id=schedule.recipient_id,
                sequence=sequence,
                currency=schedule.currency,
                amount=part if reverses_id is None else -part,
                stripe_account_id=account.stripe_account_id,
                transfer_group=position.transfer_group,
                reverses_id=reverses_id,
                idempotency_key=f"{kind}:{schedule.booking_id}:{schedule.recipient_id}:{sequence}",
                status="pending",
                decided_at=now,
            )
        )
        left -= part
    return decided


def _reversible(transfers: Sequence[PayoutTransfer]) -> list[tuple[UUID | None, Decimal]]:
    """The booking's transfers that can still be reversed, newest first, with what is left of each."""
    reversed_of: dict[UUID, Decimal] = {}
    for transfer in transfers:
        if transfer.reverses_id is not None:
            reversed_of[transfer.reverses_id] = reversed_of.get(transfer.reverses_id, Decimal(0)) - transfer.amount
    return [
        (transfer.id, transfer.amount - reversed_of.get(transfer.id, Decimal(0)))
        for transfer in reversed(transfers)
        if transfer.amount > 0 and transfer.amount > reversed_of.get(transfer.id, Decimal(0))
    ]


async def _position(session: AsyncSession, *, schedule: PayoutSchedule, now: datetime) -> Position:
    booking_id, recipient_id = schedule.booking_id, schedule.recipient_id
    paid_for = or_(Payment.booking_id == booking_id, Payment.parts.contains([{"booking_id": str(booking_id)}]))
    payments = (
        await session.scalars(
            select(Payment).where(paid_for, Payment.status == "succeeded").order_by(Payment.created_at.desc())
        )
    ).all()
    pending_refund = await session.scalar(
        select(func.count())
        .select_from(StripeCommand)
        .where(
            StripeCommand.payment_id.in_([payment.id for payment in payments]),
            StripeCommand.kind == "refund",
            StripeCommand.status == "pending",
        )
    )
    held_by_us = [payment for payment in payments if payment.destination_account_id is None]
    group = transfer_group((held_by_us[0] if held_by_us else payments[0]).booking_id) if payments else ""
    if schedule.recipient_role == "expert":
        owed = await _settle_expert_share(
            session,
            booking_id=booking_id,
            expert_id=recipient_id,
            currency=schedule.currency,
            payments=[payment for payment in payments if payment.booking_id == booking_id],
            now=now,
        )
        return Position(owed=owed, held=owed, refund_pending=bool(pending_refund), transfer_group=group)
    captured, on_account = Decimal(0), Decimal(0)
    for payment in payments:
        for share in shares(payment):
            if share.booking_id != booking_id or share.provider_id != recipient_id:
                continue
            net = share.amount - share.platform_fee
            captured += net
            if payment.destination_account_id is not None:
                on_account += money(net * (payment.amount - payment.amount_refunded) / payment.amount, payment.currency)
    refunds = await _ledger_sum(
        session, account=provider_payable(recipient_id), booking_id=booking_id, kinds=("refund",)
    )
    owed = captured - refunds
    if not held_by_us:
        held = Decimal(0)
    elif len(held_by_us) == len(payments):
        held = owed
    else:
        # Paid partly each way (a provider whose account could take charges only later): each
        # way's share of the refunds is estimated from each payment's refunded amount.
        held = min(max(owed - on_account, Decimal(0)), owed)
    return Position(owed=owed, held=held, refund_pending=bool(pending_refund), transfer_group=group)


async def _settle_expert_share(
    session: AsyncSession,
    *,
    booking_id: UUID,
    expert_id: UUID,
    currency: str,
    payments: Sequence[Payment],
    now: datetime,
) -> Decimal:
    """The expert's part of our fee on what the traveler kept paid, posted to them as far as it is
    not yet: a refund takes back its share of it, as it gives back our fee. Returns that part."""
    kept = sum(
        (
            money(payment.expert_fee * (payment.amount - payment.amount_refunded) / payment.amount, payment.currency)
            for payment in payments
            if payment.expert_id == expert_id and payment.expert_fee
        ),
        Decimal(0),
    )
    recorded = -await _ledger_sum(
        session, account=expert_payable(expert_id), booking_id=booking_id, kinds=(EXPERT_FEE,)
    )
    if recorded != kept:
        record(
            session,
            kind=EXPERT_FEE,
            booking_id=booking_id,
            reference=f"{EXPERT_FEE}:{booking_id}:{expert_id}:{recorded}:{kept}",
            currency=currency,
            postings=expert_share_postings(amount=kept - recorded, expert_id=expert_id),
            now=now,
        )
        await session.flush()
    return kept


async def _ledger_sum(session: AsyncSession, *, account: str, booking_id: UUID, kinds: tuple[str, ...]) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerEntry.account == account,
            LedgerTransaction.booking_id == booking_id,
            LedgerTransaction.kind.in_(kinds),
        )
    )
    return Decimal(total or 0)


async def _released(session: AsyncSession, *, schedule: PayoutSchedule) -> Decimal:
    """What payouts of the booking to the recipient have settled: paid, on its way, or netted."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Payout.gross), 0)).where(
            Payout.booking_id == schedule.booking_id, Payout.recipient_id == schedule.recipient_id
        )
    )
    return Decimal(total or 0)


async def _next_sequence(
    session: AsyncSession, model: type[Payout] | type[PayoutTransfer], schedule: PayoutSchedule
) -> int:
    latest = await session.scalar(
        select(func.max(model.sequence)).where(
            model.booking_id == schedule.booking_id, model.recipient_id == schedule.recipient_id
        )
    )
    return int(latest or 0) + 1


def _due(model: type[Payout] | type[PayoutTransfer], now: datetime) -> ColumnElement[bool]:
    return and_(model.status == "pending", or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))


async def _make_transfers(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stripe_client: stripe.StripeClient,
    now: datetime,
    retry: RetryPolicy,
) -> int:
    """Transfer money we held to connected accounts, and reverse transfers refunds took back."""
    async with session_factory() as session:
        ids = (
            await session.scalars(
                select(PayoutTransfer.id)
                .where(_due(PayoutTransfer, now))
                .order_by(PayoutTransfer.decided_at, PayoutTransfer.sequence)
            )
        ).all()
    done = 0
    for transfer_id in ids:
        async with session_factory() as session, session.begin():
            transfer = await session.get(PayoutTransfer, transfer_id, with_for_update={"skip_locked": True})
            if transfer is None or transfer.status != "pending":
                continue
            reversed_transfer = (
                await session.get_one(PayoutTransfer, transfer.reverses_id) if transfer.reverses_id else None
            )
            if reversed_transfer is not None and reversed_transfer.stripe_transfer_id is None:
                continue  # its transfer is not made yet
            transfer.attempts += 1
            try:
                await _call_transfer(stripe_client, transfer, reversed_transfer)
            except stripe.StripeError as error:
                _failed(transfer, error, now=now, retry=retry)
                continue
            transfer.status, transfer.done_at = "done", now
            done += 1
    return done


async def _call_transfer(
    stripe_client: stripe.StripeClient, transfer: PayoutTransfer, reversed_transfer: PayoutTransfer | None
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": transfer.idempotency_key}
    metadata = {"booking_id": str(transfer.booking_id), "recipient_id": str(transfer.recipient_id)}
    if reversed_transfer is not None:
        assert reversed_transfer.stripe_transfer_id is not None
        reversal = await stripe_client.v1.transfers.reversals.create_async(
            reversed_transfer.stripe_transfer_id,
            params={"amount": to_minor_units(-transfer.amount, transfer.currency), "metadata": metadata},
            options=options,
        )
        transfer.stripe_reversal_id = reversal.id
        transfer.stripe_transfer_id = reversed_transfer.stripe_transfer_id
        return
    made = await stripe_client.v1.transfers.create_async(
        params={
            "amount": to_minor_units(transfer.amount, transfer.currency),
            "currency": transfer.currency.lower(),
            "destination": transfer.stripe_account_id,
            "transfer_group": transfer.transfer_group,
            "metadata": metadata,
        },
        options=options,
    )
    transfer.stripe_transfer_id = made.id


async def _make_payouts(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stripe_client: stripe.StripeClient,
    now: datetime,
    retry: RetryPolicy,
) -> int:
    """Pay out of the connected accounts, once what we held for the booking is there."""
    async with session_factory() as session:
        ids = (await session.scalars(select(Payout.id).where(_due(Payout, now)).order_by(Payout.decided_at))).all()
    done = 0
    for payout_id in ids:
        async with session_factory() as session, session.begin():
            payout = await session.get(Payout, payout_id, with_for_update={"skip_locked": True})
            if payout is None or payout.status != "pending":
                continue
            transfer_waiting = await session.scalar(
                select(func.count())
                .select_from(PayoutTransfer)
                .where(
                    PayoutTransfer.booking_id == payout.booking_id,
                    PayoutTransfer.recipient_id == payout.recipient_id,
                    PayoutTransfer.status == "pending",
                    PayoutTransfer.amount > 0,
                )
            )
            if transfer_waiting:
                continue
            payout.attempts += 1
            try:
                made = await stripe_client.v1.payouts.create_async(
                    params={
                        "amount": to_minor_units(payout.amount, payout.currency),
                        "currency": payout.currency.lower(),
                        "metadata": {"booking_id": str(payout.booking_id), "recipient_id": str(payout.recipient_id)},
                    },
                    options={"idempotency_key": payout.idempotency_key, "stripe_account": payout.stripe_account_id},
                )
            except stripe.StripeError as error:
                _failed(payout, error, now=now, retry=retry)
                continue
            payout.status, payout.stripe_payout_id, payout.paid_at = "paid", made.id, now
            payable = expert_payable if payout.recipient_role == "expert" else provider_payable
            record(
                session,
                kind="payout",
                booking_id=payout.booking_id,
                reference=payout.idempotency_key,
                currency=payout.currency,
                postings=payout_postings(payable_account=payable(payout.recipient_id), amount=payout.amount),
                now=now,
            )
            done += 1
    return done


def _failed(row: Payout | PayoutTransfer, error: stripe.StripeError, *, now: datetime, retry: RetryPolicy) -> None:
    row.last_error = str(error)[:1000]
    row.next_attempt_at = now + retry_delay(row.attempts, first=retry.first, longest=retry.longest)
    logger.warning("stripe refused %s (attempt %d): %s", row.idempotency_key, row.attempts, error)


async def record_payout_failure(session: AsyncSession, *, stripe_payout: stripe.Payout, now: datetime) -> str:
    """Stripe says the bank did not take a payout: it is marked failed and ops are told, once
    however often Stripe says it. The money is back on the recipient's connected account; what
    to do with it (a new bank account, paying again) is ops' call, so the ledger is left as is."""
    if stripe_payout.status != "failed":
        return "no change"
    payout = await session.scalar(select(Payout).where(Payout.stripe_payout_id == stripe_payout.id).with_for_update())
    if payout is None:
        logger.info("stripe reports payout %s failed, which is not ours", stripe_payout.id)
        return "unknown payout"
    if payout.status == "failed":
        return "no change"
    payout.status, payout.failed_at = "failed", now
    payout.failure_code = stripe_payout.failure_code
    payout.failure_message = (stripe_payout.failure_message or "")[:1000] or None
    add_event(
        session,
        PayoutFailed(
            payout_id=payout.id,
            stripe_payout_id=stripe_payout.id,
            stripe_account_id=payout.stripe_account_id,
            booking_id=payout.booking_id,
            recipient_id=payout.recipient_id,
            recipient_role=payout.recipient_role,
            amount=payout.amount,
            currency=payout.currency,
            failure_code=payout.failure_code,
            failure_message=payout.failure_message,
            failed_at=now,
        ),
        producer=PRODUCER,
        key=str(payout.booking_id),
        occurred_at=now,
    )
    logger.warning("payout %s (%s) failed: %s", payout.id, stripe_payout.id, payout.failure_code)
    return "payout failed"


# Reading


async def payouts_of(session: AsyncSession, *, recipient_id: UUID, role: str) -> PayoutsOut:
    """The recipient's connected account as Stripe last reported it, their totals, and their
    payouts, newest first."""
    account = await session.get(ConnectedAccount, recipient_id)
    payable = expert_payable(recipient_id) if role == "expert" else provider_payable(recipient_id)
    kind, amount = LedgerTransaction.kind, LedgerEntry.amount
    totals = await session.execute(
        select(
            LedgerTransaction.currency,
            func.sum(case((kind == "payout", amount), else_=Decimal(0))),
            -func.sum(amount),
        )
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.account == payable)
        .group_by(LedgerTransaction.currency)
        .order_by(LedgerTransaction.currency)
    )
    payouts = await session.scalars(
        select(Payout)
        .where(Payout.recipient_id == recipient_id, Payout.gross > 0)
        .order_by(Payout.decided_at.desc(), Payout.sequence.desc())
        .limit(200)
    )
    return PayoutsOut(
        account=account_out(account) if account is not None else None,
        totals=[
            PayoutTotals(currency=currency, paid_out=money(paid_out, currency), owed=money(owed, currency))
            for currency, paid_out, owed in totals.all()
        ],
        payouts=[PayoutOut.model_validate(payout) for payout in payouts.all()],
    )
