"""Money in each currency's own minor units, end to end: a listing in JPY (no decimals), EUR
(two) and KWD (three, moved by Stripe in tens of fils) is quoted in its currency's steps, Stripe
is asked for that quote in minor units, and a half refund agrees to the unit at Stripe, on the
booking, in the ledger and in revenue; a currency the platform does not sell in is refused."""

import asyncio
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from services.payment.ledger.service import STRIPE_BALANCE
from shared.db import create_engine, create_session_factory
from tests.flows import LISTING, listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Aiko", "email": "aiko@example.com"}
# Ten days out: the default policy gives half back from 7 to 14 days before the start.
PARTIAL_REFUND_DAYS_OUT = 10


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _stripe(platform: PlatformPorts, path: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/{path}", auth=("sk_test_client", "")
    ).json()
    return answer


async def _stripe_balance_moves(database_url: str, booking_id: str) -> dict[str, tuple[str, Decimal]]:
    """What the ledger moved in and out of Stripe's balance for the booking, by kind."""
    engine = create_engine(database_url=database_url, schema="payment")
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(LedgerTransaction.kind, LedgerTransaction.currency, LedgerEntry.amount)
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .where(LedgerTransaction.booking_id == UUID(booking_id), LedgerEntry.account == STRIPE_BALANCE)
            )
            return {kind: (currency, Decimal(amount)) for kind, currency, amount in rows.all()}
    finally:
        await engine.dispose()


def _revenue(gateway: httpx.Client, provider: dict[str, str], currency: str, refunds: Decimal) -> dict[str, Any]:
    """The provider's revenue of today in `currency`, once the refund has reached it."""
    today = date.today().isoformat()
    deadline = time.monotonic() + 20
    groups: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        groups = gateway.get(
            "/api/v1/analytics/revenue", params={"from": today, "to": today, "group_by": "day"}, headers=provider
        ).json()["groups"]
        if groups and Decimal(groups[0]["refunds"]) == refunds:
            break
        time.sleep(0.3)
    assert [group["currency"] for group in groups] == [currency]
    return groups[0]


@pytest.mark.parametrize(
    ("currency", "base_price", "total", "units", "refund", "refund_units"),
    [
        # A child at 70 % of 5000 is 3500; 7 % tax on 8500 is 595. Half of 9095 is 4547.5: 4548.
        ("JPY", "5000", "9095", 9095, "4548", 4548),
        # A child at 70 % of 40.05 is 28.035: 28.04; 7 % tax on 68.09 is 4.7663: 4.77.
        ("EUR", "40.05", "72.86", 7286, "36.43", 3643),
        # A child at 70 % of 12.35 is 8.645: 8.650 (tens of fils); tax on 21.000 is 1.470. Half
        # of 22.470 is 11.235: 11.240.
        ("KWD", "12.35", "22.470", 22470, "11.240", 11240),
    ],
)
def test_quote_intent_refund_ledger_and_revenue_agree_to_the_unit_in_the_currency(
    platform: PlatformPorts,
    gateway: httpx.Client,
    database_url: str,
    currency: str,
    base_price: str,
    total: str,
    units: int,
    refund: str,
    refund_units: int,
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=PARTIAL_REFUND_DAYS_OUT)
    listing_id, slot_id = listing_with_slot(
        gateway,
        provider,
        capacity=4,
        on=day,
        currency=currency,
        base_price=base_price,
        pricing={"tax_percent": "7"},
    )
    listing = gateway.get(f"/api/v1/listings/{listing_id}").json()
    assert (listing["currency"], Decimal(listing["base_price"])) == (currency, Decimal(base_price))

    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1, "children": 1}, headers=traveler)
    assert hold.status_code == 201, hold.text
    quote = hold.json()["quote"]
    assert (quote["currency"], quote["total"]) == (currency, total)
    fee = gateway.get("/api/v1/fees/quote", params={"listing_id": listing_id, "amount": total})
    assert fee.status_code == 200, fee.text
    assert fee.json()["fee"]["currency"] == currency
    assert Decimal(fee.json()["fee"]["amount"]) * units / Decimal(total) % 1 == 0, "a fee in whole minor units"
    finer = f"{total}5" if "." in total else f"{total}.5"
    refused = gateway.get("/api/v1/fees/quote", params={"listing_id": listing_id, "amount": finer})
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR")

    created = gateway.post(
        "/api/v1/bookings", json={"hold_id": hold.json()["id"], "contact": CONTACT}, headers=traveler
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    assert (booking["currency"], booking["total"], booking["amount_due_now"]) == (currency, total, total)
    intent_id = booking["payment"]["payment_intent_id"]
    intent = _stripe(platform, f"payment_intents/{intent_id}")
    assert (intent["amount"], intent["currency"]) == (units, currency.lower())

    paid = pay(f"http://127.0.0.1:{platform.stripe}", intent_id, "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")

    cancelled = gateway.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "plans changed"}, headers=traveler
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refund"] == {"amount": refund, "currency": currency}
    settled = wait_for_status(gateway, booking["id"], traveler, "refunded")
    assert settled["refund"] == {"amount": refund, "currency": currency}

    refunds = _stripe(platform, f"refunds?payment_intent={intent_id}")["data"]
    assert [(item["amount"], item["currency"]) for item in refunds] == [(refund_units, currency.lower())]
    assert _stripe(platform, f"payment_intents/{intent_id}")["latest_charge"]["amount_refunded"] == refund_units
    moves = asyncio.run(_stripe_balance_moves(database_url, booking["id"]))
    assert moves == {"capture": (currency, Decimal(total)), "refund": (currency, -Decimal(refund))}

    revenue = _revenue(gateway, provider, currency, Decimal(refund))
    assert (revenue["gmv"], revenue["refunds"]) == (total, refund)


@pytest.mark.parametrize("currency", ["XXX", "ISK", "usd1"])
def test_a_listing_in_a_currency_the_platform_does_not_sell_in_is_refused(gateway: httpx.Client, currency: str) -> None:
    provider = sign_up(gateway, "provider")
    refused = gateway.post("/api/v1/listings", json=LISTING | {"currency": currency}, headers=provider)
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), refused.text
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("currency", "base_price"), [("JPY", "5000.50"), ("JPY", "0.5"), ("KWD", "12.345"), ("EUR", "40.001")]
)
def test_a_price_finer_than_the_currency_moves_is_refused(
    gateway: httpx.Client, currency: str, base_price: str
) -> None:
    provider = sign_up(gateway, "provider")
    refused = gateway.post(
        "/api/v1/listings", json=LISTING | {"currency": currency, "base_price": base_price}, headers=provider
    )
    assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), refused.text
    assert gateway.get("/api/v1/listings", params={"provider_id": _own_id(gateway, provider)}).json()["items"] == []


def _own_id(gateway: httpx.Client, headers: dict[str, str]) -> str:
    return str(gateway.get("/api/v1/auth/me", headers=headers).json()["id"])
