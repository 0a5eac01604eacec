"""PaymentIntents for bookings, and the Stripe calls decided in a transaction and made after it."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import stripe
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from services.payment.connect.service import charge_destination
from services.payment.credits import service as credits
from services.payment.credits.domain import PaidSoFar, credit_to_use, split_refund
from services.payment.fees.service import fee_for
from services.payment.intents.metrics import count_payment, count_refund
from services.payment.intents.models import Payment, StripeCommand
from services.payment.intents.schemas import PaymentIntentRequest, PaymentPart
from services.payment.ledger.service import (
    capture_postings,
    credit_refund_postings,
    credit_spend_postings,
    record,
    refund_postings,
)
from services.payment.methods.service import default_method
from services.payment.payouts.domain import transfer_group
from shared.contracts.payment import PaymentRefunded, PaymentSucceeded
from shared.errors import BadGateway, Conflict
from shared.events.outbox import add_event
from shared.identity import Identity
from shared.money import from_minor_units, money, to_minor_units
from shared.tracing import current_trace_carrier

logger = logging.getLogger(__name__)

PRODUCER = "payment"


async def create_payment_intent(
    session: AsyncSession,
    *,
    stripe_client: stripe.StripeClient,
    traveler: Identity,
    request: PaymentIntentRequest,
    now: datetime,
) -> Payment:
    """The booking's intent for this purpose, created once: asking again returns the same one.
    With `use_credit`, the traveler's credit pays first: the intent at Stripe is for the rest,
    and credit that covers everything is paid at once, with no intent at Stripe."""
    existing = await session.scalar(
        select(Payment).where(Payment.booking_id == request.booking_id, Payment.purpose == request.purpose)
    )
    if existing is not None:
        if existing.amount != request.amount or existing.currency != request.currency:
            raise Conflict("This booking already has a payment for another amount.", error_code="PAYMENT_MISMATCH")
        return existing
    # Decided before Stripe is asked, so a sale no fee rule covers is refused uncharged.
    parts = [
        part.model_dump(mode="json") | {"platform_fee": str(await _fee_of(session, part, currency=request.currency))}
        for part in request.parts
    ]
    fee = (
        sum((Decimal(part["platform_fee"]) for part in parts), Decimal(0))
        if parts
        else await _fee_of(session, request, currency=request.currency)
    )
    # Planned from the balance now and reserved under its lock below, after Stripe answered.
    credit = (
        credit_to_use(
            available=await credits.available_credit(session, traveler_id=traveler.user_id, currency=request.currency),
            due=request.amount,
            limit=request.credit_limit,
        )
        if request.use_credit
        else Decimal(0)
    )
    intent, destination = None, None
    if credit < request.amount:
        intent, destination = await _stripe_intent(
            session, stripe_client=stripe_client, traveler=traveler, request=request, fee=fee, credit=credit
        )
    payment = Payment(
        id=uuid4(),
        booking_id=request.booking_id,
        traveler_id=traveler.user_id,
        provider_id=request.provider_id,
        purpose=request.purpose,
        payment_intent_id=intent.id if intent is not None else f"credit_{uuid4().hex}",
        client_secret=(intent.client_secret or "") if intent is not None else "",
        amount=request.amount,
        currency=request.currency,
        category=request.category,
        platform_fee=fee,
        credit_amount=credit,
        credit_status="reserved" if credit else None,
        parts=parts or None,
        destination_account_id=destination,
        expert_id=request.expert.expert_id if request.expert else None,
        expert_fee=min(request.expert.fee, fee) if request.expert else None,
        trace_context=current_trace_carrier() or None,
    )
    session.add(payment)
    try:
        await session.flush()
        if credit and not await credits.reserve(
            session,
            traveler_id=traveler.user_id,
            currency=request.currency,
            amount=credit,
            booking_id=request.booking_id,
            payment_id=payment.id,
            now=now,
        ):
            raise _CreditTaken
        if intent is None:
            await record_capture(session, payment=payment, now=now)
        elif request.off_session:
            request_confirm(session, payment=payment)
        await session.commit()
    except IntegrityError:
        # A concurrent retry won the race; Stripe's idempotency key gave both the same intent.
        await session.rollback()
        winner = await session.scalar(
            select(Payment).where(Payment.booking_id == request.booking_id, Payment.purpose == request.purpose)
        )
        assert winner is not None
        return winner
    except _CreditTaken:
        await session.rollback()
        if intent is not None:
            await _cancel_unrecorded(stripe_client, intent.id)
        raise Conflict(
            "Your credit was spent by another checkout meanwhile; try again.", error_code="CREDIT_CHANGED"
        ) from None
    return payment


class _CreditTaken(Exception):
    """The credit planned for a payment was reserved by another checkout first."""


async def _stripe_intent(
    session: AsyncSession,
    *,
    stripe_client: stripe.StripeClient,
    traveler: Identity,
    request: PaymentIntentRequest,
    fee: Decimal,
    credit: Decimal,
) -> tuple[stripe.PaymentIntent, str | None]:
    """The intent at Stripe for what the card pays, and the connected account it goes to."""
    params: PaymentIntentCreateParams = {
        "amount": to_minor_units(request.amount - credit, request.currency),
        "currency": request.currency.lower(),
        "metadata": {"booking_id": str(request.booking_id), "purpose": request.purpose},
    }
    # One provider who can take charges gets a destination charge, less our fee; the platform
    # keeps a cart's money (several providers, grouped for the transfers), that of a provider
    # without such an account, and a payment partly made with credit (the provider is owed the
    # credit part too), and transfers each part when it is paid out (payouts/).
    destination = (
        None if request.parts or credit else await charge_destination(session, provider_id=request.provider_id)
    )
    if destination is not None:
        params["transfer_data"] = {"destination": destination}
        params["application_fee_amount"] = to_minor_units(fee, request.currency)
    elif request.parts:
        params["transfer_group"] = transfer_group(request.booking_id)
    if request.off_session:
        # The card goes on the intent now and the confirm names none (localstripe refuses a
        # confirm that does).
        saved = await default_method(session, traveler_id=traveler.user_id)
        params["customer"] = saved.customer_id
        params["payment_method"] = saved.payment_method_id
    # Another amount is another intent: a checkout retried after its credit changed.
    key = f"intent:{request.booking_id}:{request.purpose}" + (f":credit-{credit}" if credit else "")
    try:
        intent = await stripe_client.v1.payment_intents.create_async(params=params, options={"idempotency_key": key})
    except stripe.StripeError as error:
        logger.warning("stripe refused a payment intent for %s: %s", request.booking_id, error)
        raise BadGateway("The payment provider is unavailable; try again.") from None
    return intent, destination


async def _cancel_unrecorded(stripe_client: stripe.StripeClient, intent_id: str) -> None:
    """An intent made for a payment that was not recorded: nobody can pay it, so it goes."""
    try:
        await stripe_client.v1.payment_intents.cancel_async(
            intent_id, options={"idempotency_key": f"cancel:{intent_id}"}
        )
    except stripe.StripeError as error:
        logger.warning("could not cancel the unrecorded intent %s: %s", intent_id, error)


async def record_capture(session: AsyncSession, *, payment: Payment, now: datetime) -> None:
    """The payment is paid: each provider's share is posted (the credit part from the traveler's
    credit, which is spent), and `payment.succeeded` tells booking."""
    payment.status = "succeeded"
    count_payment(session, "succeeded")
    postings = [
        posting
        for share in shares(payment)
        for posting in capture_postings(amount=share.amount, fee=share.platform_fee, provider_id=share.provider_id)
    ]
    if payment.credit_amount:
        postings += credit_spend_postings(amount=payment.credit_amount, traveler_id=payment.traveler_id)
        await credits.spend(
            session,
            traveler_id=payment.traveler_id,
            currency=payment.currency,
            amount=payment.credit_amount,
            booking_id=payment.booking_id,
            payment_id=payment.id,
            reserved=payment.credit_status == "reserved",
            now=now,
        )
        payment.credit_status = "spent"
    record(
        session,
        kind="capture",
        booking_id=payment.booking_id,
        reference=f"capture:{payment.payment_intent_id}",
        currency=payment.currency,
        postings=postings,
        now=now,
    )
    add_event(
        session,
        PaymentSucceeded(
            booking_id=payment.booking_id,
            payment_intent_id=payment.payment_intent_id,
            purpose=payment.purpose,
            amount=payment.amount,
            platform_fee=payment.platform_fee,
            currency=payment.currency,
        ),
        producer=PRODUCER,
        key=str(payment.booking_id),
        occurred_at=now,
    )


async def _fee_of(session: AsyncSession, sale: PaymentIntentRequest | PaymentPart, *, currency: str) -> Decimal:
    fee, _ = await fee_for(
        session, provider_id=sale.provider_id, category=sale.category, amount=sale.amount, currency=currency
    )
    return fee


@dataclass(frozen=True)
class Share:
    """One booking's part of a payment: whose it is, how much, and the platform's fee on it."""

    booking_id: UUID
    provider_id: UUID
    amount: Decimal
    platform_fee: Decimal


def shares(payment: Payment) -> list[Share]:
    """Who is paid what of a payment: its provider, or each provider of a cart's bookings."""
    if not payment.parts:
        return [Share(payment.booking_id, payment.provider_id, payment.amount, payment.platform_fee)]
    return [
        Share(
            UUID(part["booking_id"]), UUID(part["provider_id"]), Decimal(part["amount"]), Decimal(part["platform_fee"])
        )
        for part in payment.parts
    ]


def _share_of(payment: Payment, booking_id: UUID) -> Share:
    """From a cart's payment, a refund comes out of its booking's provider's part."""
    return next(
        (share for share in shares(payment) if share.booking_id == booking_id),
        Share(payment.booking_id, payment.provider_id, payment.amount, payment.platform_fee),
    )


def retry_delay(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long a Stripe call that has failed `attempts` times waits before the next try:
    doubling from `first`, never longer than `longest`. The SDK has already retried the
    quick blips; this is for Stripe being down for minutes or hours."""
    doubled: timedelta = first * 2 ** min(attempts - 1, 30)
    return min(doubled, longest)


async def run_pending_stripe_commands(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    stripe_client: stripe.StripeClient,
    now: datetime,
    first_retry: timedelta = timedelta(seconds=2),
    longest_retry: timedelta = timedelta(hours=1),
) -> int:
    """Make the refunds, cancellations and charges that transactions decided on, each when it
    is due. A failed call is tried again later, for as long as it takes (money owed back is
    never dropped); each command's idempotency key makes a retry, even after a crash, safe
    at Stripe."""
    due = or_(StripeCommand.next_attempt_at.is_(None), StripeCommand.next_attempt_at <= now)
    async with session_factory() as session:
        commands = (
            await session.scalars(
                select(StripeCommand)
                .where(StripeCommand.status == "pending", due)
                .order_by(StripeCommand.created_at)
                .limit(50)
            )
        ).all()
    done = 0
    for command in commands:
        async with session_factory() as session, session.begin():
            locked = await session.get(StripeCommand, command.id, with_for_update={"skip_locked": True})
            if locked is None or locked.status != "pending":
                continue
            payment = await session.get_one(Payment, locked.payment_id, with_for_update=True)
            locked.attempts += 1
            try:
                await _call_stripe(stripe_client, locked, payment)
            except stripe.StripeError as error:
                if locked.kind == "refund":
                    count_refund(session, "failed")
                locked.last_error = str(error)[:1000]
                locked.next_attempt_at = now + retry_delay(locked.attempts, first=first_retry, longest=longest_retry)
                logger.warning(
                    "stripe %s for payment %s failed (attempt %d, next at %s): %s",
                    locked.kind,
                    payment.id,
                    locked.attempts,
                    locked.next_attempt_at.isoformat(),
                    error,
                )
                continue
            locked.status = "done"
            if locked.kind == "refund" and locked.amount is not None:
                _record_refund(session, payment=payment, command=locked, now=now)
            elif locked.kind == "cancel" and payment.status == "canceled" and payment.credit_status == "reserved":
                # Cancelled at Stripe, the intent can never be paid: the credit it held comes back.
                await credits.release(
                    session,
                    traveler_id=payment.traveler_id,
                    currency=payment.currency,
                    amount=payment.credit_amount,
                    booking_id=payment.booking_id,
                    payment_id=payment.id,
                    reason="the booking was not paid",
                    now=now,
                )
                payment.credit_status = "released"
            done += 1
    return done


async def _call_stripe(stripe_client: stripe.StripeClient, command: StripeCommand, payment: Payment) -> None:
    options: stripe.RequestOptions = {"idempotency_key": command.idempotency_key}
    if command.kind == "confirm":
        intent = await stripe_client.v1.payment_intents.retrieve_async(payment.payment_intent_id)
        if intent.status == "requires_confirmation":
            try:
                await stripe_client.v1.payment_intents.confirm_async(payment.payment_intent_id, options=options)
            except stripe.CardError as error:
                # Declined: the webhook reports it like any failed payment, and booking acts on that.
                logger.info("off-session charge of %s declined: %s", payment.payment_intent_id, error)
        return
    if command.kind == "cancel":
        intent = await stripe_client.v1.payment_intents.retrieve_async(payment.payment_intent_id)
        if intent.status not in ("succeeded", "canceled"):
            await stripe_client.v1.payment_intents.cancel_async(payment.payment_intent_id, options=options)
        if intent.status != "succeeded":
            payment.status = "canceled"
        return
    assert command.amount is not None
    params: RefundCreateParams = {
        "payment_intent": payment.payment_intent_id,
        "amount": to_minor_units(command.amount, payment.currency),
    }
    if payment.destination_account_id is not None:
        # A destination charge's money is on the provider's account: the refund takes it back
        # from there, and the platform's fee in proportion, rather than from the platform.
        params["reverse_transfer"] = True
        params["refund_application_fee"] = True
    refund = await stripe_client.v1.refunds.create_async(params=params, options=options)
    if from_minor_units(refund.amount, payment.currency) != command.amount:
        raise stripe.StripeError(f"refund {refund.id} is for {refund.amount}, not {command.amount}")


def _record_refund(session: AsyncSession, *, payment: Payment, command: StripeCommand, now: datetime) -> None:
    assert command.amount is not None
    amount = command.amount
    payment.amount_refunded += amount
    count_refund(session, "succeeded")
    booking_id = command.booking_id or payment.booking_id
    share = _share_of(payment, booking_id)
    record(
        session,
        kind="refund",
        booking_id=booking_id,
        reference=f"refund:{payment.payment_intent_id}:{payment.amount_refunded}",
        currency=payment.currency,
        postings=refund_postings(
            refund=amount,
            captured=share.amount,
            fee=share.platform_fee,
            provider_id=share.provider_id,
            currency=payment.currency,
        ),
        now=now,
    )
    add_event(
        session,
        PaymentRefunded(
            booking_id=booking_id,
            payment_intent_id=payment.payment_intent_id,
            amount=amount,
            currency=payment.currency,
            refund_id=command.idempotency_key,
            refunded_to="card",
        ),
        producer=PRODUCER,
        key=str(booking_id),
        occurred_at=now,
    )


async def request_refund(
    session: AsyncSession, *, payment: Payment, booking_id: UUID, amount: Decimal, reason: str, now: datetime
) -> None:
    """Decide a refund for a booking in the caller's transaction (which holds the payment's row
    lock); never more than what earlier decisions left, made or not. The booking and reason
    name the decision (a cart's bookings share one payment), so each decision is refunded once.
    What was paid with credit goes back to the credit now, in its share (credits/domain.py);
    the card's part is refunded at Stripe after the transaction."""
    amount = money(min(amount, refundable(payment)), payment.currency)
    split = split_refund(
        amount,
        paid=PaidSoFar(
            credit=payment.credit_amount,
            card=payment.card_amount,
            credit_refunded=payment.credit_refunded,
            card_refunded=payment.amount_refund_decided - payment.credit_refunded,
        ),
        currency=payment.currency,
    )
    payment.amount_refund_decided += amount
    if split.to_credit > 0:
        await _refund_to_credit(
            session, payment=payment, booking_id=booking_id, amount=split.to_credit, reason=reason, now=now
        )
    if split.to_card > 0:
        session.add(
            StripeCommand(
                kind="refund",
                payment_id=payment.id,
                amount=split.to_card,
                booking_id=booking_id,
                idempotency_key=f"refund:{payment.payment_intent_id}:{booking_id}:{reason}",
            )
        )


async def _refund_to_credit(
    session: AsyncSession, *, payment: Payment, booking_id: UUID, amount: Decimal, reason: str, now: datetime
) -> None:
    payment.credit_refunded += amount
    payment.amount_refunded += amount
    count_refund(session, "succeeded")
    share = _share_of(payment, booking_id)
    refund_id = f"refund-to-credit:{payment.id}:{booking_id}:{reason}"
    record(
        session,
        kind="refund",
        booking_id=booking_id,
        reference=refund_id,
        currency=payment.currency,
        postings=credit_refund_postings(
            refund=amount,
            captured=share.amount,
            fee=share.platform_fee,
            provider_id=share.provider_id,
            traveler_id=payment.traveler_id,
            currency=payment.currency,
        ),
        now=now,
    )
    await credits.give_back(
        session,
        traveler_id=payment.traveler_id,
        currency=payment.currency,
        amount=amount,
        booking_id=booking_id,
        payment_id=payment.id,
        reason=reason,
        now=now,
    )
    add_event(
        session,
        PaymentRefunded(
            booking_id=booking_id,
            payment_intent_id=payment.payment_intent_id,
            amount=amount,
            currency=payment.currency,
            refund_id=refund_id,
            refunded_to="credit",
        ),
        producer=PRODUCER,
        key=str(booking_id),
        occurred_at=now,
    )


def refundable(payment: Payment) -> Decimal:
    """What is left to refund of a payment once every refund decided so far is made."""
    return payment.amount - payment.amount_refund_decided


def request_confirm(session: AsyncSession, *, payment: Payment) -> StripeCommand:
    """Charge an off-session payment once the transaction that created it has committed."""
    command = StripeCommand(
        kind="confirm", payment_id=payment.id, idempotency_key=f"confirm:{payment.payment_intent_id}"
    )
    session.add(command)
    return command


def request_cancel(session: AsyncSession, *, payment: Payment) -> StripeCommand:
    command = StripeCommand(kind="cancel", payment_id=payment.id, idempotency_key=f"cancel:{payment.payment_intent_id}")
    session.add(command)
    return command
