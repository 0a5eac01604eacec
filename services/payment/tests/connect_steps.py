"""Steps the Connect and payout tests take: onboarding, Stripe's word on an account (through the
Connect test double, delivered as the signed webhook Stripe would send), paid and confirmed
bookings, and the payout job on a pinned time."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.payment.ledger.models import LedgerEntry
from services.payment.payouts.consumers import schedule_the_confirmed_bookings_payouts
from services.payment.payouts.service import RetryPolicy, pay_due_payouts
from services.payment.stripe_gateway import create_stripe_client
from services.payment.tests.conftest import PaymentApp
from shared.contracts.booking import BookingConfirmed
from shared.identity import Identity
from shared.testing import make_identity

# After the payment app's own frozen clock (2031-05-04 09:00), so its payout job never finds
# these tests' bookings due: each test runs the job itself, at the times it names.
T0 = datetime.fromisoformat("2031-06-02T10:00:00+00:00")


async def onboard(payment_app: PaymentApp, payee: Identity) -> dict[str, Any]:
    answer = await payment_app.client.post("/providers/me/payouts/onboarding", headers=payment_app.as_(payee))
    assert answer.status_code == 200, answer.text
    link: dict[str, Any] = answer.json()
    return link


def signed(payment_app: PaymentApp, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The event as Stripe sends it: the JSON body and its `t=...,v1=...` signature."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    secret = payment_app.settings.stripe_webhook_secret.encode()
    signature = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


async def deliver(payment_app: PaymentApp, event: dict[str, Any]) -> str:
    body, headers = signed(payment_app, event)
    answer = await payment_app.client.post("/payments/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


async def stripe_changes_account(payment_app: PaymentApp, account_id: str, **status: Any) -> dict[str, Any]:
    """Stripe changes the account (at the Connect test double) and sends `account.updated`;
    `status` as the double's control endpoint takes it, or nothing for fully verified."""
    path = f"/_double/accounts/{account_id}/" + ("status" if status else "verify")
    answer = await payment_app.stripe_double.post(path, json=status or None)
    assert answer.status_code == 200, answer.text
    event: dict[str, Any] = answer.json()["event"]
    return event


async def payee_with_account(payment_app: PaymentApp, role: str = "provider", *, verified: bool = True) -> Identity:
    """A provider (or expert) whose account pays out: verified, or new (payouts enabled while
    Stripe still checks their identity)."""
    payee = make_identity(role)  # type: ignore[arg-type]
    account_id = (await onboard(payment_app, payee))["account_id"]
    if verified:
        event = await stripe_changes_account(payment_app, account_id)
    else:
        event = await stripe_changes_account(
            payment_app,
            account_id,
            charges_enabled=True,
            payouts_enabled=True,
            details_submitted=True,
            currently_due=["individual.verification.document"],
        )
    assert await deliver(payment_app, event) == ("account verified" if verified else "account updated")
    return payee


async def paid(
    payment_app: PaymentApp, *, booking_id: uuid.UUID, provider_id: uuid.UUID, **request: Any
) -> dict[str, Any]:
    """A payment made and captured: the intent booking asks for (a tour of 88.00 EUR unless
    told), paid by the traveler, and Stripe's word that it succeeded."""
    body = {
        "booking_id": str(booking_id),
        "provider_id": str(provider_id),
        "category": "tour",
        "amount": "88.00",
        "currency": "EUR",
    } | request
    created = await payment_app.client.post(
        "/internal/payment-intents", json=body, headers=payment_app.as_(make_identity("traveler"))
    )
    assert created.status_code == 201, created.text
    intent: dict[str, Any] = created.json()
    await payment_app.pay_at_stripe(intent["payment_intent_id"])
    assert await payment_app.stripe_says_succeeded(intent["payment_intent_id"]) == "succeeded"
    return intent


async def confirmed(
    payment_app: PaymentApp,
    *,
    booking_id: uuid.UUID,
    provider_id: uuid.UUID,
    at: datetime = T0,
    service_ends_at: datetime | None = None,
) -> None:
    """What payment does with booking's `booking.confirmed` (a tour three days after `at`)."""
    ends_at = service_ends_at or at + timedelta(days=3)
    event = BookingConfirmed(
        booking_id=booking_id,
        reference="TRV-TEST",
        traveler_id=uuid.uuid4(),
        provider_id=provider_id,
        listing_id=uuid.uuid4(),
        listing_title="Sunset kayak tour",
        category="tour",
        slot_id=uuid.uuid4(),
        starts_at=ends_at - timedelta(hours=2),
        ends_at=ends_at,
        timezone="Europe/Lisbon",
        seats=2,
        total=Decimal("88.00"),
        platform_fee=Decimal("13.20"),
        currency="EUR",
        contact_name="Ana",
        contact_email="ana@example.com",
        confirmed_at=at,
    )
    async with payment_app.sessions() as session, session.begin():
        await schedule_the_confirmed_bookings_payouts(session, event)


async def run_payouts(payment_app: PaymentApp, now: datetime) -> int:
    """One run of the payout job at `now`."""
    return await pay_due_payouts(
        payment_app.sessions,
        stripe_client=create_stripe_client(payment_app.settings),
        now=now,
        retry=RetryPolicy(first=timedelta(seconds=2), longest=timedelta(hours=1)),
    )


async def stripe_calls(payment_app: PaymentApp, method: str, path_start: str, *, key_part: str) -> list[dict[str, Any]]:
    """The calls the double saw to `path_start...` whose idempotency key names `key_part`, as
    Stripe made them: replays of an idempotency key left out."""
    answer = await payment_app.stripe_double.get("/_double/requests")
    return [
        call
        for call in answer.json()["requests"]
        if call["method"] == method
        and call["path"].startswith(path_start)
        and key_part in (call["idempotency_key"] or "")
        and call["status"] == 200
        and not call["replayed"]
    ]


async def balance_of(payment_app: PaymentApp, account: str) -> Decimal:
    """An account's balance in the ledger (credits negative: what we owe is below zero)."""
    async with payment_app.sessions() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account == account)
        )
    return Decimal(total or 0)


async def my_payouts(payment_app: PaymentApp, payee: Identity) -> dict[str, Any]:
    answer = await payment_app.client.get("/providers/me/payouts", headers=payment_app.as_(payee))
    assert answer.status_code == 200, answer.text
    payouts: dict[str, Any] = answer.json()
    return payouts
