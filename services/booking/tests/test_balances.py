"""Balances of deposit bookings on a frozen clock, against the real database, with payment's
internal API stood in for: the balance is charged off-session once due, and marked paid on
payment's word; a failed charge is retried 24 hours later, and after the third failure the
booking is cancelled as the traveler's, the deposit refunded by the policy. Only the traveler
pays a balance early, and only one that is due."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from services.booking.balances.consumers import balances_consumer
from services.booking.balances.service import charge_due_balances
from services.booking.bookings.models import Booking
from services.booking.tests.conftest import BookingApp, answer, intent_for, upstream_pools
from services.booking.upstreams.binding import UpstreamPools
from shared.auth import INTERNAL_IDENTITY_HEADER, IdentityVerifier
from shared.contracts.payment import PaymentFailed, PaymentSucceeded
from shared.contracts.payment_api import PaymentIntentRequest
from shared.events.envelope import EventEnvelope, EventPayload
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity, trusted_development_key

DAY = timedelta(days=1)


@dataclass
class StandInPayment:
    """Payment's POST /internal/payment-intents: answers an intent per purpose, or refuses."""

    asked: list[dict[str, Any]] = field(default_factory=list)
    refuse_with: int | None = None

    def answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        body["as"] = request.headers[INTERNAL_IDENTITY_HEADER]
        self.asked.append(body)
        if self.refuse_with is not None:
            problem = {"status": self.refuse_with, "error_code": "NO_SAVED_METHOD", "message": "No saved card."}
            return httpx.Response(self.refuse_with, json=problem)
        return answer(201, intent_for(PaymentIntentRequest.model_validate_json(request.content)))


@pytest.fixture
async def payment() -> AsyncIterator[tuple[StandInPayment, UpstreamPools]]:
    stand_in = StandInPayment()
    async with upstream_pools(payment=stand_in.answer) as pools:
        yield stand_in, pools


async def _deposit_booking(app: BookingApp, *, starts_in: timedelta) -> Booking:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    starts_at = app.clock.now() + starts_in
    return await app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=starts_in,
        payment_option="deposit",
        total=Decimal("88.00"),
        amount_due_now=Decimal("26.40"),
        balance_amount=Decimal("61.60"),
        balance_due_at=starts_at - 14 * DAY,
        balance_next_attempt_at=starts_at - 14 * DAY,
    )


async def _charges_asked(app: BookingApp, payment: tuple[StandInPayment, UpstreamPools], booking: Booking) -> list[str]:
    """Run the job; the purposes of the charges it asked payment for, for this booking (the
    database holds other tests' bookings too)."""
    stand_in, pools = payment
    before = len(stand_in.asked)
    await charge_due_balances(
        app.sessions,
        clock=app.clock,
        upstreams=pools,
        schedule=app.settings.balance_schedule(),
    )
    return [asked["purpose"] for asked in stand_in.asked[before:] if asked["booking_id"] == str(booking.id)]


async def _deliver(app: BookingApp, event: EventPayload) -> None:
    handlers = balances_consumer(app.clock, app.settings.balance_schedule()).handlers
    async with app.sessions() as session, session.begin():
        await handlers[(event.event_type, event.event_version)](
            session, EventEnvelope.wrap(event, producer="payment", key="b")
        )


async def _read(app: BookingApp, booking_id: UUID) -> Booking:
    async with app.sessions() as session:
        return await session.get_one(Booking, booking_id)


async def _events(app: BookingApp, booking_id: UUID) -> list[tuple[str, dict[str, Any]]]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == str(booking_id)).order_by(OutboxMessage.id)
        )
        return [(row.event_type, row.envelope["payload"]) for row in rows]


def _failed(booking: Booking, attempt: int) -> PaymentFailed:
    return PaymentFailed(
        booking_id=booking.id,
        payment_intent_id=f"pi_{attempt}",
        reason="card_declined",
        purpose=f"balance-{attempt}",
    )


async def test_the_balance_is_charged_off_session_once_due_and_marked_paid_when_payment_succeeds(
    booking_app: BookingApp, payment: tuple[StandInPayment, UpstreamPools]
) -> None:
    stand_in, _ = payment
    booking = await _deposit_booking(booking_app, starts_in=30 * DAY)

    booking_app.clock.advance(16 * DAY - timedelta(minutes=1))
    assert await _charges_asked(booking_app, payment, booking) == []
    booking_app.clock.advance(timedelta(minutes=1))
    assert await _charges_asked(booking_app, payment, booking) == ["balance-1"]
    assert await _charges_asked(booking_app, payment, booking) == []  # asked once; the outcome comes as an event
    [asked] = [asked for asked in stand_in.asked if asked["booking_id"] == str(booking.id)]
    assert (asked["purpose"], asked["amount"], asked["currency"], asked["off_session"]) == (
        "balance-1",
        "61.60",
        "EUR",
        True,
    )
    # In the traveler's name, signed by booking: payment charges that traveler's saved card.
    verifier = IdentityVerifier(audience="payment", issuers={"booking": trusted_development_key("booking")})
    signed = await verifier.verify(asked["as"])
    assert (signed.user_id, signed.roles) == (booking.traveler_id, ("traveler",))

    paid = PaymentSucceeded(
        booking_id=booking.id,
        payment_intent_id="pi_1",
        purpose="balance-1",
        amount=Decimal("61.60"),
        platform_fee=Decimal("6.16"),
        currency="EUR",
    )
    await _deliver(booking_app, paid)
    after = await _read(booking_app, booking.id)
    assert (after.status, after.balance_paid_at, after.amount_paid) == (
        "confirmed",
        booking_app.clock.now(),
        Decimal("88.00"),
    )
    booking_app.clock.advance(2 * DAY)
    assert await _charges_asked(booking_app, payment, booking) == []

    # Paid again (early by the traveler, say): not owed, so it goes back whole.
    await _deliver(booking_app, paid.model_copy(update={"payment_intent_id": "pi_early", "purpose": "balance"}))
    refunds = [
        payload for kind, payload in await _events(booking_app, booking.id) if kind == "booking.refund_requested"
    ]
    assert [(r["amount"], r["payment_intent_id"]) for r in refunds] == [("61.60", "pi_early")]


async def test_a_failed_balance_is_retried_after_24_hours_and_after_the_third_failure_the_booking_is_cancelled(
    booking_app: BookingApp, payment: tuple[StandInPayment, UpstreamPools]
) -> None:
    booking = await _deposit_booking(booking_app, starts_in=30 * DAY)
    booking_app.clock.advance(16 * DAY)

    for attempt in (1, 2):
        assert await _charges_asked(booking_app, payment, booking) == [f"balance-{attempt}"]
        await _deliver(booking_app, _failed(booking, attempt))
        booking_app.clock.advance(timedelta(hours=24) - timedelta(minutes=1))
        assert await _charges_asked(booking_app, payment, booking) == []
        booking_app.clock.advance(timedelta(minutes=1))
    failures = [payload for kind, payload in await _events(booking_app, booking.id) if kind.endswith("charge_failed")]
    assert [(f["attempt"], f["attempts_left"], f["amount"]) for f in failures] == [(1, 2, "61.60"), (2, 1, "61.60")]
    assert (await _read(booking_app, booking.id)).status == "confirmed"

    assert await _charges_asked(booking_app, payment, booking) == ["balance-3"]
    await _deliver(booking_app, _failed(booking, 3))
    cancelled = await _read(booking_app, booking.id)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.status_reason) == (
        "cancelled",
        "traveler",
        "balance unpaid",
    )
    # Cancelled 12 days before the start: the default policy gives back half of the deposit.
    assert (cancelled.refund_amount, cancelled.credit_amount) == (Decimal("13.20"), Decimal("0.00"))
    events = await _events(booking_app, booking.id)
    assert [kind for kind, _ in events][-3:] == [
        "booking.cancelled",
        "booking.seats_released",
        "booking.refund_requested",
    ]
    assert events[-1][1]["amount"] == "13.20"
    booking_app.clock.advance(2 * DAY)
    assert await _charges_asked(booking_app, payment, booking) == []


async def test_a_charge_payment_refuses_counts_as_a_failed_attempt(
    booking_app: BookingApp, payment: tuple[StandInPayment, UpstreamPools]
) -> None:
    stand_in, _ = payment
    stand_in.refuse_with = 409
    booking = await _deposit_booking(booking_app, starts_in=20 * DAY)
    booking_app.clock.advance(6 * DAY)
    assert await _charges_asked(booking_app, payment, booking) == ["balance-1"]
    after = await _read(booking_app, booking.id)
    assert (after.balance_attempts, after.balance_next_attempt_at) == (1, booking_app.clock.now() + DAY)
    assert [kind for kind, _ in await _events(booking_app, booking.id)] == ["booking.balance_charge_failed"]


async def test_only_the_traveler_pays_a_balance_early_and_only_one_that_is_due(booking_app: BookingApp) -> None:
    booking = await _deposit_booking(booking_app, starts_in=30 * DAY)
    path = f"/bookings/{booking.id}/pay-balance"
    provider = make_identity("provider")
    provider_of_it = Identity(user_id=booking.provider_id, email=provider.email, roles=("provider",))
    stranger = make_identity("traveler")
    assert (await booking_app.client.post(path, headers=booking_app.as_(stranger))).status_code == 404
    assert (await booking_app.client.post(path, headers=booking_app.as_(provider_of_it))).status_code == 403

    traveler = make_identity("traveler")
    in_full = await booking_app.add_booking(traveler=traveler, provider=provider, starts_in=30 * DAY)
    refused = await booking_app.client.post(f"/bookings/{in_full.id}/pay-balance", headers=booking_app.as_(traveler))
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NOTHING_DUE")
