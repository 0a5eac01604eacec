"""Travelers' credits in the ledger: granted once per provider cancellation (however often the
event comes), reserved by a checkout under the balance's lock so concurrent checkouts never
spend more than there is, spent when the card pays the rest (or at once when credit pays it
all), released when the booking is not paid, and given back in its share by refunds."""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select

from services.payment.credits.consumers import CREDIT_EVENTS
from services.payment.intents.consumers import (
    cancel_the_intent_holding_credit,
    cancel_the_intent_of_an_unpaid_booking,
    refund_what_booking_decided,
)
from services.payment.intents.models import Payment
from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import PLATFORM_CREDIT_EXPENSE, STRIPE_BALANCE, traveler_credit
from services.payment.tests.conftest import PaymentApp
from shared.contracts.booking import (
    BookingCancelled,
    BookingExpired,
    BookingPaymentFailed,
    BookingRefundRequested,
)
from shared.events.consumer import EventConsumer
from shared.events.envelope import EventEnvelope
from shared.events.kafka import create_producer
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.metrics import AppMetrics
from shared.testing import consumer_record, make_identity

CANCELLED_AT = datetime(2031, 5, 3, 12, 0, tzinfo=UTC)


def _cancelled(traveler: Identity, *, credit: str, currency: str = "EUR") -> BookingCancelled:
    """A paid booking of the traveler's, cancelled by its provider with a credit."""
    return BookingCancelled(
        booking_id=uuid.uuid4(),
        reference="BK-2031-CREDIT",
        traveler_id=traveler.user_id,
        provider_id=uuid.uuid4(),
        listing_id=uuid.uuid4(),
        listing_title="Sunset kayak tour",
        slot_id=uuid.uuid4(),
        starts_at=CANCELLED_AT,
        ends_at=CANCELLED_AT,
        timezone="Europe/Lisbon",
        seats=2,
        contact_name="Rui",
        contact_email="rui@example.com",
        cancelled_by="provider",
        reason="the boat is broken",
        was_confirmed=True,
        was_paid=True,
        refund=Decimal("88.00"),
        credit=Decimal(credit),
        currency=currency,
        cancelled_at=CANCELLED_AT,
    )


async def _consume(payment_app: PaymentApp, *records: ConsumerRecord[bytes, bytes]) -> None:
    """Payment's credit consumer takes the records as it would from the broker."""
    producer = create_producer(payment_app.settings.kafka_bootstrap_servers, client_id="test-credits")
    await producer.start()
    consumer = EventConsumer(
        spec=CREDIT_EVENTS,
        session_factory=payment_app.sessions,
        bootstrap_servers=payment_app.settings.kafka_bootstrap_servers,
        dead_letter_producer=producer,
        metrics=AppMetrics("test").consumer,
        max_attempts=1,
    )
    try:
        for record in records:
            await consumer.handle_record(record)
    finally:
        await producer.stop()


async def _granted(payment_app: PaymentApp, traveler: Identity, credit: str, currency: str = "EUR") -> None:
    event = _cancelled(traveler, credit=credit, currency=currency)
    await _consume(
        payment_app, consumer_record(EventEnvelope.wrap(event, producer="booking", key=str(event.booking_id)), 0)
    )


async def _credits(payment_app: PaymentApp, traveler: Identity, **params: str) -> dict[str, Any]:
    answer = await payment_app.client.get("/credits", params=params, headers=payment_app.as_(traveler))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _balance(payment_app: PaymentApp, traveler: Identity, currency: str = "EUR") -> tuple[str, str]:
    balances = (await _credits(payment_app, traveler))["balances"]
    [balance] = [balance for balance in balances if balance["currency"] == currency]
    return balance["available"], balance["reserved"]


async def _checkout(
    payment_app: PaymentApp, traveler: Identity, *, amount: str, booking_id: uuid.UUID | None = None, **extra: Any
) -> httpx.Response:
    body = {
        "booking_id": str(booking_id or uuid.uuid4()),
        "provider_id": str(uuid.uuid4()),
        "category": "tour",
        "amount": amount,
        "currency": "EUR",
        "use_credit": True,
    } | extra
    return await payment_app.client.post("/internal/payment-intents", json=body, headers=payment_app.as_(traveler))


async def _ledger_balance(payment_app: PaymentApp, account: str) -> Decimal:
    async with payment_app.sessions() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account == account)
        )
    return Decimal(total or 0)


async def _until(check: Any, within: float = 10) -> None:
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it did not happen in time")


async def test_a_cancellation_credit_is_granted_once_however_often_its_event_comes(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    event = _cancelled(traveler, credit="50.00")
    envelope = EventEnvelope.wrap(event, producer="booking", key=str(event.booking_id))
    # The same message twice (a redelivery), and the same cancellation under another event id.
    again = envelope.model_copy(update={"event_id": uuid.uuid4()})
    await _consume(payment_app, consumer_record(envelope, 0), consumer_record(envelope, 0), consumer_record(again, 1))

    credits = await _credits(payment_app, traveler)
    assert credits["balances"] == [{"currency": "EUR", "available": "50.00", "reserved": "0.00"}]
    assert [(item["kind"], item["amount"], item["booking_id"]) for item in credits["items"]] == [
        ("granted", "50.00", str(event.booking_id))
    ]
    assert credits["items"][0]["reason"] == "BK-2031-CREDIT cancelled by the provider"
    assert await _ledger_balance(payment_app, traveler_credit(traveler.user_id)) == Decimal("-50.00")
    async with payment_app.sessions() as session:
        grants = await session.scalar(
            select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.booking_id == event.booking_id)
        )
    assert grants == 1
    # A cancellation without a credit (the traveler's own) grants nothing.
    other = make_identity("traveler")
    await _granted(payment_app, other, "0.00")
    assert (await _credits(payment_app, other))["balances"] == []


async def test_credit_pays_first_and_the_card_the_rest_spent_once_paid(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")

    created = await _checkout(payment_app, traveler, amount="80.00")
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["credit_amount"], answer["card_amount"]) == ("50.00", "30.00")
    intent = await payment_app.stripe.get(f"/v1/payment_intents/{answer['payment_intent_id']}")
    assert intent.json()["amount"] == 3000
    assert await _balance(payment_app, traveler) == ("0.00", "50.00")

    await payment_app.pay_at_stripe(answer["payment_intent_id"])
    assert await payment_app.stripe_says_succeeded(answer["payment_intent_id"]) == "succeeded"

    assert await _balance(payment_app, traveler) == ("0.00", "0.00")
    kinds = [item["kind"] for item in (await _credits(payment_app, traveler))["items"]]
    assert kinds == ["spent", "reserved", "granted"]
    assert await _ledger_balance(payment_app, traveler_credit(traveler.user_id)) == Decimal("0.00")
    async with payment_app.sessions() as session:
        at_stripe = await session.scalar(
            select(func.sum(LedgerEntry.amount))
            .join(LedgerTransaction)
            .where(
                LedgerTransaction.reference == f"capture:{answer['payment_intent_id']}",
                LedgerEntry.account == STRIPE_BALANCE,
            )
        )
    # What the ledger says reached Stripe is what the card paid.
    assert at_stripe == Decimal("30.00")


async def test_credit_that_covers_everything_pays_at_once_without_stripe(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")
    booking_id = uuid.uuid4()

    created = await _checkout(payment_app, traveler, amount="40.00", booking_id=booking_id)

    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["payment_intent_id"], answer["client_secret"], answer["status"]) == (None, None, "succeeded")
    assert (answer["credit_amount"], answer["card_amount"]) == ("40.00", "0.00")
    assert await _balance(payment_app, traveler) == ("10.00", "0.00")
    async with payment_app.sessions() as session:
        [succeeded] = (
            await session.scalars(
                select(OutboxMessage.envelope).where(
                    OutboxMessage.event_type == "payment.succeeded", OutboxMessage.key == str(booking_id)
                )
            )
        ).all()
    assert (succeeded["payload"]["amount"], succeeded["payload"]["purpose"]) == ("40.00", "full")
    # Asked again (a retried checkout), the same payment answers and nothing more is spent.
    again = await _checkout(payment_app, traveler, amount="40.00", booking_id=booking_id)
    assert again.json()["id"] == answer["id"]
    assert await _balance(payment_app, traveler) == ("10.00", "0.00")
    assert await _ledger_balance(payment_app, PLATFORM_CREDIT_EXPENSE) >= Decimal("50.00")


async def test_concurrent_checkouts_never_spend_more_credit_than_there_is(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")

    # Some are paid with credit alone, some partly, some find it gone; none spends what another did.
    answers = await asyncio.gather(
        *(_checkout(payment_app, traveler, amount=amount) for amount in ("30.00", "45.00", "20.00") * 2)
    )

    taken = Decimal(0)
    for answer in answers:
        if answer.status_code == 201:
            taken += Decimal(answer.json()["credit_amount"])
        else:
            assert (answer.status_code, answer.json()["error_code"]) == (409, "CREDIT_CHANGED"), answer.text
    assert Decimal(0) < taken <= Decimal("50.00")
    available, _ = await _balance(payment_app, traveler)
    assert Decimal(available) == Decimal("50.00") - taken
    history = (await _credits(payment_app, traveler))["items"]
    assert sum(Decimal(item["amount"]) for item in history if item["kind"] == "reserved") == taken


async def test_credit_held_by_a_booking_that_expired_unpaid_comes_back(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")
    booking_id = uuid.uuid4()
    created = await _checkout(payment_app, traveler, amount="80.00", booking_id=booking_id)
    assert created.status_code == 201, created.text
    assert await _balance(payment_app, traveler) == ("0.00", "50.00")

    async with payment_app.sessions() as session, session.begin():
        await cancel_the_intent_of_an_unpaid_booking(
            session, BookingExpired(booking_id=booking_id, hold_id=uuid.uuid4())
        )

    async def released() -> bool:
        return await _balance(payment_app, traveler) == ("50.00", "0.00")

    await _until(released)
    intent = await payment_app.stripe.get(f"/v1/payment_intents/{created.json()['payment_intent_id']}")
    assert intent.json()["status"] == "canceled"
    items = (await _credits(payment_app, traveler))["items"]
    assert [(item["kind"], item["amount"]) for item in items[:2]] == [("released", "50.00"), ("reserved", "50.00")]
    assert await _ledger_balance(payment_app, traveler_credit(traveler.user_id)) == Decimal("-50.00")


async def test_credit_held_by_a_booking_whose_card_failed_comes_back_and_a_late_card_cannot_spend_it(
    payment_app: PaymentApp,
) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")
    booking_id = uuid.uuid4()
    created = await _checkout(payment_app, traveler, amount="80.00", booking_id=booking_id)
    intent_id = created.json()["payment_intent_id"]

    async with payment_app.sessions() as session, session.begin():
        await cancel_the_intent_holding_credit(
            session, BookingPaymentFailed(booking_id=booking_id, hold_id=uuid.uuid4(), slot_id=uuid.uuid4())
        )

    async def released() -> bool:
        return await _balance(payment_app, traveler) == ("50.00", "0.00")

    await _until(released)
    # The intent is gone at Stripe: the client can no longer pay the rest with the credit gone.
    confirm = await payment_app.stripe.post(f"/v1/payment_intents/{intent_id}/confirm")
    assert confirm.status_code >= 400
    assert (await payment_app.stripe.get(f"/v1/payment_intents/{intent_id}")).json()["status"] == "canceled"


async def test_a_refund_gives_the_credit_part_back_as_credit_and_the_card_part_to_the_card(
    payment_app: PaymentApp,
) -> None:
    traveler = make_identity("traveler")
    await _granted(payment_app, traveler, "50.00")
    booking_id = uuid.uuid4()
    created = await _checkout(payment_app, traveler, amount="80.00", booking_id=booking_id)
    intent_id = created.json()["payment_intent_id"]
    await payment_app.pay_at_stripe(intent_id)
    assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"

    async def refund(amount: str, reason: str) -> None:
        async with payment_app.sessions() as session, session.begin():
            await refund_what_booking_decided(
                session,
                BookingRefundRequested(booking_id=booking_id, amount=Decimal(amount), currency="EUR", reason=reason),
            )

    async def refunded_at_stripe(units: int) -> bool:
        charge = (await payment_app.stripe.get(f"/v1/payment_intents/{intent_id}")).json()["latest_charge"]
        return int(charge["amount_refunded"]) == units

    # Half: 5/8 of it was paid with credit, 3/8 by card.
    await refund("40.00", "traveler_cancellation")
    assert await _balance(payment_app, traveler) == ("25.00", "0.00")
    await _until(lambda: refunded_at_stripe(1500))
    # The rest (a second decision), and asking for more gives nothing more.
    await refund("80.00", "seats_unavailable")
    assert await _balance(payment_app, traveler) == ("50.00", "0.00")
    await _until(lambda: refunded_at_stripe(3000))

    async def all_refunded() -> bool:
        async with payment_app.sessions() as session:
            refunded = await session.scalar(select(Payment.amount_refunded).where(Payment.booking_id == booking_id))
        return refunded == Decimal("80.00")

    await _until(all_refunded)

    async with payment_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.booking_id == booking_id))
        assert payment is not None
        assert (payment.credit_refunded, payment.amount_refunded) == (Decimal("50.00"), Decimal("80.00"))
        refunded_events = (
            await session.scalars(
                select(OutboxMessage.envelope).where(
                    OutboxMessage.event_type == "payment.refunded", OutboxMessage.key == str(booking_id)
                )
            )
        ).all()
    # Each refund named once, so booking tells the traveler of each once, and where it went.
    assert sorted(
        (Decimal(event["payload"]["amount"]), event["payload"]["refunded_to"], event["payload"]["refund_id"])
        for event in refunded_events
    ) == [
        (Decimal("15.00"), "card", f"refund:{intent_id}:{booking_id}:seats_unavailable"),
        (Decimal("15.00"), "card", f"refund:{intent_id}:{booking_id}:traveler_cancellation"),
        (Decimal("25.00"), "credit", f"refund-to-credit:{payment.id}:{booking_id}:seats_unavailable"),
        (Decimal("25.00"), "credit", f"refund-to-credit:{payment.id}:{booking_id}:traveler_cancellation"),
    ]
    assert await _ledger_balance(payment_app, traveler_credit(traveler.user_id)) == Decimal("-50.00")


async def test_the_history_is_paged_newest_first(payment_app: PaymentApp) -> None:
    traveler = make_identity("traveler")
    for credit in ("10.00", "20.00", "30.00"):
        await _granted(payment_app, traveler, credit)
    await _granted(payment_app, traveler, "5000", currency="JPY")

    first = await _credits(payment_app, traveler, limit="2")
    second = await _credits(payment_app, traveler, limit="2", cursor=first["next_cursor"])

    assert first["balances"] == [
        {"currency": "EUR", "available": "60.00", "reserved": "0.00"},
        {"currency": "JPY", "available": "5000", "reserved": "0"},
    ]
    assert [item["amount"] for item in first["items"] + second["items"]] == ["5000", "30.00", "20.00", "10.00"]
    assert second["next_cursor"] is None
    for cursor in ("x", "0", "9" * 20):
        bad = await payment_app.client.get("/credits", params={"cursor": cursor}, headers=payment_app.as_(traveler))
        assert (bad.status_code, bad.json()["error_code"]) == (422, "VALIDATION_ERROR")
    provider = await payment_app.client.get("/credits", headers=payment_app.as_(make_identity("provider")))
    assert provider.status_code == 403
