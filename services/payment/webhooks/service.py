"""Stripe webhooks as triggers: verify the signature, drop repeats, re-read the intent (or the
connected account, or the payout) from Stripe, and move the payment only from the states that
allow it."""

import logging
from collections.abc import Sequence
from datetime import datetime

import stripe
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.connect.service import apply_account_status
from services.payment.intents.metrics import count_payment
from services.payment.intents.models import Payment
from services.payment.intents.service import record_capture
from services.payment.payouts.service import after_capture, record_payout_failure
from services.payment.webhooks.metrics import WebhookOutcome
from services.payment.webhooks.models import StripeEvent
from shared.contracts.payment import PaymentFailed
from shared.errors import AppError
from shared.events.outbox import add_event
from shared.tracing import continue_trace

logger = logging.getLogger(__name__)

PRODUCER = "payment"
HANDLED_TYPES = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
ACCOUNT_UPDATED = "account.updated"
PAYOUT_FAILED = "payout.failed"


class InvalidSignature(AppError):
    status_code = 400
    error_code = "INVALID_SIGNATURE"


def verify(payload: bytes, signature: str | None, *, secrets: Sequence[str], tolerance_seconds: int) -> stripe.Event:
    """The event, if it is signed with one of `secrets` (each Stripe endpoint has its own: the
    platform's events, and Connect's events about connected accounts)."""
    if not signature:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    for secret in secrets:
        try:
            event: stripe.Event = stripe.Webhook.construct_event(
                payload, signature, secret, tolerance=tolerance_seconds
            )
        except stripe.SignatureVerificationError:
            continue
        except ValueError:
            break
        return event
    raise InvalidSignature("The webhook signature does not verify.")


def webhook_outcome(outcome: str) -> WebhookOutcome:
    """What `handle_event`'s answer counts as: anything it acted on (or looked up and found
    nothing to do) is processed."""
    if outcome == "ignored":
        return "ignored"
    if outcome == "duplicate":
        return "duplicate"
    return "processed"


async def handle_event(
    session: AsyncSession,
    *,
    event: stripe.Event,
    stripe_client: stripe.StripeClient,
    now: datetime,
) -> str:
    """Apply one verified event once; returns what happened (for the answer and the logs)."""
    if event.type == ACCOUNT_UPDATED:
        return await _handle_account_update(session, event=event, stripe_client=stripe_client)
    if event.type == PAYOUT_FAILED:
        return await _handle_payout_failure(session, event=event, stripe_client=stripe_client, now=now)
    if event.type not in HANDLED_TYPES:
        return "ignored"
    intent_id = str(event.data.object["id"])
    # The event is only a trigger: the intent as Stripe has it now is the truth.
    intent = await stripe_client.v1.payment_intents.retrieve_async(intent_id)
    first_time = await session.scalar(
        insert(StripeEvent).values(id=event.id, type=event.type).on_conflict_do_nothing().returning(StripeEvent.id)
    )
    if first_time is None:
        return "duplicate"
    payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id).with_for_update())
    if payment is None:
        logger.info("webhook for unknown intent %s", intent_id)
        await session.commit()
        return "unknown intent"
    # Stripe calls with no trace context, so the webhook's request is a trace of its own. What
    # it moves belongs to the checkout that made the payment: its span continues the trace kept
    # on the payment (and links the request's), so the events it writes carry that trace on to
    # booking, and one booking stays one trace from the traveler's click to the email.
    with continue_trace(
        payment.trace_context or {},
        f"stripe webhook {event.type}",
        kind=SpanKind.INTERNAL,
        attributes={"stripe.event_id": event.id, "stripe.payment_intent_id": intent_id},
        link_current=True,
    ):
        outcome = await _apply_intent_status(session, payment=payment, intent=intent, now=now)
        if outcome == "succeeded":
            await after_capture(session, payment=payment)
        await session.commit()
    return outcome


async def _handle_account_update(
    session: AsyncSession, *, event: stripe.Event, stripe_client: stripe.StripeClient
) -> str:
    """A connected account's status (Connect). The account as Stripe has it now is the truth, so
    an older event delivered late cannot undo a newer state."""
    account = await stripe_client.v1.accounts.retrieve_async(str(event.data.object["id"]))
    first_time = await session.scalar(
        insert(StripeEvent).values(id=event.id, type=event.type).on_conflict_do_nothing().returning(StripeEvent.id)
    )
    if first_time is None:
        return "duplicate"
    outcome = await apply_account_status(session, account=account)
    await session.commit()
    return outcome


async def _handle_payout_failure(
    session: AsyncSession, *, event: stripe.Event, stripe_client: stripe.StripeClient, now: datetime
) -> str:
    """A payout from a connected account to its bank failed (Connect: the event names the
    account). The payout as Stripe has it now is the truth."""
    options: stripe.RequestOptions = {"stripe_account": event.account} if event.account else {}
    payout = await stripe_client.v1.payouts.retrieve_async(str(event.data.object["id"]), options=options)
    first_time = await session.scalar(
        insert(StripeEvent).values(id=event.id, type=event.type).on_conflict_do_nothing().returning(StripeEvent.id)
    )
    if first_time is None:
        return "duplicate"
    outcome = await record_payout_failure(session, stripe_payout=payout, now=now)
    await session.commit()
    return outcome


async def _apply_intent_status(
    session: AsyncSession, *, payment: Payment, intent: stripe.PaymentIntent, now: datetime
) -> str:
    if intent.status == "succeeded" and payment.status in ("requires_payment", "failed", "canceled"):
        # A success after a failure is a retried card; after a cancel it is a late payment. Both
        # are money we hold, so both count; booking decides whether a seat is still there.
        await record_capture(session, payment=payment, now=now)
        return "succeeded"
    if intent.status == "requires_payment_method" and payment.status == "requires_payment":
        error = intent.last_payment_error
        payment.status = "failed"
        count_payment(session, "failed")
        add_event(
            session,
            PaymentFailed(
                booking_id=payment.booking_id,
                payment_intent_id=payment.payment_intent_id,
                reason=str(error.code or error.message) if error else "payment_failed",
                purpose=payment.purpose,
            ),
            producer=PRODUCER,
            key=str(payment.booking_id),
            occurred_at=now,
        )
        return "failed"
    return "no change"
