"""Deposits through the gateway: a booking a month out pays 30 % now and is confirmed; the
balance job, run on a clock 16 days ahead against the platform's database, charges the rest to
the traveler's saved card off-session; a card that cannot be charged gets the traveler an email,
and the traveler pays the balance early themselves. A deposit booking changed to a smaller
party gets the deposit's share of the difference back, and the job charges the new balance."""

import asyncio
import email
import email.policy
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.booking.balances.service import charge_due_balances
from services.booking.settings import BookingSettings
from services.booking.upstreams.binding import UpstreamPools
from services.payment.intents.models import Payment
from shared.clock import FrozenClock
from shared.db import create_engine, create_session_factory
from shared.money import money, to_minor_units
from shared.testing import development_signer
from tests.flows import listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Inês", "email": "ines@example.com"}
MONTH_OUT = timedelta(days=30)


@pytest.fixture
def gateway(platform: PlatformPorts) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


def _deposit_booking(gateway: httpx.Client, *, card: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A traveler with `card` saved, and their deposit booking for two on a slot 30 days out."""
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + MONTH_OUT)
    saved = gateway.post("/api/v1/payments/methods", json={"payment_method": card}, headers=traveler)
    assert saved.status_code == 201, saved.text
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 2, "contact": CONTACT, "payment_option": "deposit"},
        headers={**traveler, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    return traveler, created.json()


def _confirmed_after_the_deposit(
    gateway: httpx.Client, platform: PlatformPorts, traveler: dict[str, str], booking: dict[str, Any]
) -> dict[str, Any]:
    pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    return wait_for_status(gateway, booking["id"], traveler, "confirmed")


def _wait_for_balance_paid(gateway: httpx.Client, booking_id: str, traveler: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        booking: dict[str, Any] = gateway.get(f"/api/v1/bookings/{booking_id}", headers=traveler).json()
        if booking["balance_paid_at"] is not None:
            return booking
        time.sleep(0.2)
    raise AssertionError(f"the balance of booking {booking_id} was not paid within 30 s")


async def _run_balance_job(database_url: str, platform: PlatformPorts, clock: FrozenClock) -> None:
    settings = BookingSettings()
    engine = create_engine(database_url=database_url, schema="booking")
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.apps['inventory']}", timeout=10) as inventory,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.apps['payment']}", timeout=10) as payment,
        ):
            await charge_due_balances(
                create_session_factory(engine),
                clock=clock,
                upstreams=UpstreamPools(inventory=inventory, payment=payment, signer=development_signer("booking")),
                schedule=settings.balance_schedule(),
            )
    finally:
        await engine.dispose()


def _when_due(booking: dict[str, Any]) -> FrozenClock:
    """A minute after the balance falls due (14 days before the slot): the job's clock."""
    return FrozenClock(datetime.fromisoformat(booking["balance_due_at"]) + timedelta(minutes=1))


def test_a_deposit_booking_pays_30_percent_now_and_the_balance_is_charged_to_the_saved_card_when_due(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str
) -> None:
    traveler, booking = _deposit_booking(gateway, card="pm_card_visa")
    total = Decimal(booking["total"])
    assert booking["payment_option"] == "deposit"
    assert Decimal(booking["amount_due_now"]) == money(total * Decimal("0.3"), "EUR")
    assert Decimal(booking["balance"]["amount"]) == total - Decimal(booking["amount_due_now"])
    confirmed = _confirmed_after_the_deposit(gateway, platform, traveler, booking)
    assert confirmed["balance_paid_at"] is None

    asyncio.run(_run_balance_job(database_url, platform, _when_due(booking)))

    paid = _wait_for_balance_paid(gateway, booking["id"], traveler)
    assert paid["status"] == "confirmed"
    history = gateway.get(f"/api/v1/bookings/{booking['id']}/history", headers=traveler).json()
    assert "balance_paid" in [entry["action"] for entry in history["items"]]


def test_a_balance_the_saved_card_cannot_pay_is_emailed_about_and_the_traveler_pays_it_early(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str
) -> None:
    traveler, booking = _deposit_booking(gateway, card="pm_card_chargeCustomerFail")
    _confirmed_after_the_deposit(gateway, platform, traveler, booking)

    asyncio.run(_run_balance_job(database_url, platform, _when_due(booking)))

    mail = mail_about(platform.mail_http, f"Balance not charged: Sunset kayak tour ({booking['reference']})")
    assert mail["rcpt_tos"] == [CONTACT["email"]]
    unpaid = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    assert (unpaid["status"], unpaid["balance_paid_at"]) == ("confirmed", None)

    early = gateway.post(f"/api/v1/bookings/{booking['id']}/pay-balance", headers=traveler)
    assert early.status_code == 200, early.text
    assert Decimal(early.json()["amount"]) == Decimal(booking["balance"]["amount"])
    pay(f"http://127.0.0.1:{platform.stripe}", early.json()["payment"]["payment_intent_id"], "pm_card_visa")
    _wait_for_balance_paid(gateway, booking["id"], traveler)
    nothing_due = gateway.post(f"/api/v1/bookings/{booking['id']}/pay-balance", headers=traveler)
    assert (nothing_due.status_code, nothing_due.json()["error_code"]) == (409, "NOTHING_DUE")


def test_a_deposit_for_a_slot_inside_the_balance_window_is_paid_in_full(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=10))
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "adults": 1, "contact": CONTACT, "payment_option": "deposit"},
        headers=traveler,
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    assert (booking["payment_option"], booking["amount_due_now"], booking["balance"]) == (
        "full",
        booking["total"],
        None,
    )
    refused = gateway.post(f"/api/v1/bookings/{booking['id']}/pay-balance", headers=traveler)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NOTHING_DUE")


def _stripe_intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


async def _intent_of(database_url: str, booking_id: str, purpose: str) -> str:
    """The PaymentIntent payment made for the booking's `purpose` (payment's own record)."""
    engine = create_engine(database_url=database_url, schema="payment")
    try:
        async with create_session_factory(engine)() as session:
            intent = await session.scalar(
                select(Payment.payment_intent_id).where(
                    Payment.booking_id == uuid.UUID(booking_id), Payment.purpose == purpose
                )
            )
    finally:
        await engine.dispose()
    assert intent is not None, f"no {purpose} payment for booking {booking_id}"
    return intent


def test_a_deposit_booking_changed_to_a_smaller_party_owes_only_the_new_balance_and_the_job_charges_just_that(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str
) -> None:
    traveler, booking = _deposit_booking(gateway, card="pm_card_visa")
    _confirmed_after_the_deposit(gateway, platform, traveler, booking)
    deposit, balance = Decimal(booking["amount_due_now"]), Decimal(booking["balance"]["amount"])

    answer = gateway.patch(f"/api/v1/bookings/{booking['id']}", json={"adults": 1}, headers=traveler)
    assert answer.status_code == 200, answer.text
    change = answer.json()
    # Half the party: half the deposit back now, half the balance left to pay when it falls due.
    back, owed = deposit / 2, balance / 2
    assert (change["status"], change["payment"]) == ("confirming", None)
    assert (Decimal(change["amount_due_now"]["amount"]), Decimal(change["refund"]["amount"])) == (Decimal(0), back)
    assert Decimal(change["balance"]["amount"]) == owed
    assert change["balance_due_at"] == booking["balance_due_at"]

    deadline = time.monotonic() + 30
    changed = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    while changed["adults"] != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        changed = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()
    assert (Decimal(changed["total"]), Decimal(changed["amount_due_now"]), Decimal(changed["amount_paid"])) == (
        Decimal(booking["total"]) / 2,
        deposit - back,
        deposit - back,
    )
    assert Decimal(changed["balance"]["amount"]) == owed
    deposit_intent = booking["payment"]["payment_intent_id"]
    refunded = 0
    while refunded != to_minor_units(back, "EUR") and time.monotonic() < deadline:
        time.sleep(0.2)
        refunded = int(_stripe_intent(platform, deposit_intent)["latest_charge"]["amount_refunded"])
    assert refunded == to_minor_units(back, "EUR")
    raw = mail_about(platform.mail_http, f"Booking {booking['reference']} changed")["raw"]
    told = email.message_from_string(raw, policy=email.policy.default).get_body(("plain",))
    assert told is not None
    assert f"€{back:.2f} goes back to your card" in told.get_content()
    assert f"€{owed:.2f} is left to pay" in told.get_content()

    asyncio.run(_run_balance_job(database_url, platform, _when_due(booking)))

    paid = _wait_for_balance_paid(gateway, booking["id"], traveler)
    assert Decimal(paid["amount_paid"]) == Decimal(paid["total"])
    balance_intent = _stripe_intent(platform, asyncio.run(_intent_of(database_url, booking["id"], "balance-1")))
    assert (balance_intent["status"], balance_intent["amount"]) == ("succeeded", to_minor_units(owed, "EUR"))
