"""Revenue agrees with the ledger after a randomized run: bookings in EUR and JPY, paid in full or
by deposit, balances paid, parties made larger (the difference charged) and smaller (part
refunded), cancelled by the traveler (refunded by the policy, in full or half) or by the
provider (refunded with a credit), each step through the gateway as a client takes it. Once the
events are in, analytics' revenue per currency and per provider equals payment's ledger to the
cent. The run's seed is in every failure's message; `REVENUE_RUN_SEED` replays one."""

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
from tests.revenue_checks import as_the_ledger_sums, ledger_sums, settled_revenue_reports
from tests.running_platform import PlatformPorts

BOOKINGS = 10
CONTACT = {"name": "Rui", "email": "rui@example.com"}
# 30 days out a deposit is possible and a traveler's cancellation is refunded in full; 10 days
# out the booking is paid in full and the policy refunds half.
DAYS_OUT = (30, 10)
PRICES = {"EUR": "40.00", "JPY": "4000"}


@dataclass
class Run:
    """The run's seed, its random source, and what it did (for a failure's message)."""

    seed: int
    rng: random.Random
    steps: list[str] = field(default_factory=list)

    def say(self, step: str) -> None:
        self.steps.append(step)

    def __str__(self) -> str:
        return f"seed {self.seed}: " + "; ".join(self.steps)


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


@pytest.fixture
def run() -> Run:
    seed = int(os.environ.get("REVENUE_RUN_SEED") or random.SystemRandom().randrange(2**32))
    return Run(seed=seed, rng=random.Random(seed))


def _booking(gateway: httpx.Client, traveler: dict[str, str], booking_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = gateway.get(f"/api/v1/bookings/{booking_id}", headers=traveler).json()
    return answer


def _until(gateway: httpx.Client, traveler: dict[str, str], booking_id: str, done: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    booking = _booking(gateway, traveler, booking_id)
    while not done(booking):
        assert time.monotonic() < deadline, f"booking {booking_id}: {what} did not happen within 30 s: {booking}"
        time.sleep(0.2)
        booking = _booking(gateway, traveler, booking_id)
    return booking


def _change_party(
    gateway: httpx.Client, stripe: str, traveler: dict[str, str], booking: dict[str, Any], adults: int
) -> dict[str, Any]:
    """The party changed to `adults`, paid for when it costs more; the booking once it applied."""
    answer = gateway.patch(f"/api/v1/bookings/{booking['id']}", json={"adults": adults}, headers=traveler)
    assert answer.status_code == 200, answer.text
    change = answer.json()
    if change["payment"] is not None:
        assert pay(stripe, change["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
    return _until(
        gateway,
        traveler,
        booking["id"],
        lambda now: now["adults"] == adults and now["status"] == "confirmed",
        f"the change to {adults} adults",
    )


def _pay_the_balance(gateway: httpx.Client, stripe: str, traveler: dict[str, str], booking: dict[str, Any]) -> None:
    answer = gateway.post(f"/api/v1/bookings/{booking['id']}/pay-balance", headers=traveler)
    assert answer.status_code == 200, answer.text
    assert pay(stripe, answer.json()["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
    _until(gateway, traveler, booking["id"], lambda now: now["balance_paid_at"] is not None, "the balance's payment")


def _cancel(gateway: httpx.Client, by: dict[str, str], traveler: dict[str, str], booking: dict[str, Any]) -> None:
    answer = gateway.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "randomized"}, headers=by)
    assert answer.status_code == 200, answer.text
    refund = answer.json()["refund"]
    if refund is not None and Decimal(refund["amount"]) > 0:
        wait_for_status(gateway, booking["id"], traveler, "refunded")


def _one_booking(
    run: Run,
    gateway: httpx.Client,
    stripe: str,
    providers: dict[str, tuple[dict[str, str], dict[int, str]]],
    traveler: dict[str, str],
) -> None:
    """A booking the run chooses, and what happens to it after it is confirmed."""
    currency = run.rng.choice(sorted(providers))
    provider, slots = providers[currency]
    days_out = run.rng.choice(DAYS_OUT)
    adults = run.rng.randint(1, 3)
    option = run.rng.choice(("full", "deposit"))
    created = gateway.post(
        "/api/v1/bookings",
        json={"slot_id": slots[days_out], "adults": adults, "contact": CONTACT, "payment_option": option},
        headers={**traveler, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, f"{run}: {created.text}"
    booking = created.json()
    run.say(f"{currency} {days_out} days out, {adults} adults, {booking['payment_option']}")
    assert pay(stripe, booking["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == "succeeded"
    booking = wait_for_status(gateway, booking["id"], traveler, "confirmed")

    for _ in range(run.rng.randint(0, 2)):
        step = run.rng.choice(("larger", "smaller", "balance"))
        if step == "larger":
            adults += 1
        elif step == "smaller" and adults > 1:
            adults -= 1
        elif step == "balance" and booking["balance"] is not None and booking["balance_paid_at"] is None:
            run.say("balance paid")
            _pay_the_balance(gateway, stripe, traveler, booking)
            booking = _booking(gateway, traveler, booking["id"])
            continue
        else:
            continue
        run.say(f"changed to {adults} adults")
        booking = _change_party(gateway, stripe, traveler, booking, adults)

    ending = run.rng.choice(("kept", "kept", "cancelled by the traveler", "cancelled by the provider"))
    run.say(ending)
    if ending == "cancelled by the traveler":
        _cancel(gateway, traveler, traveler, booking)
    elif ending == "cancelled by the provider":
        _cancel(gateway, provider, traveler, booking)


def _provider_id(gateway: httpx.Client, provider: dict[str, str]) -> str:
    me = gateway.get("/api/v1/auth/me", headers=provider)
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


def test_after_a_randomized_run_revenue_equals_the_ledger_per_currency_and_per_provider(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str, run: Run
) -> None:
    stripe = f"http://127.0.0.1:{platform.stripe}"
    providers: dict[str, tuple[dict[str, str], dict[int, str]]] = {}
    for currency, price in PRICES.items():
        provider = sign_up(gateway, "provider")
        providers[currency] = (
            provider,
            {
                days: listing_with_slot(
                    gateway,
                    provider,
                    capacity=60,
                    on=date.today() + timedelta(days=days),
                    currency=currency,
                    base_price=price,
                )[1]
                for days in DAYS_OUT
            },
        )
    travelers = [sign_up(gateway, "traveler") for _ in range(3)]
    for number in range(BOOKINGS):
        _one_booking(run, gateway, stripe, providers, travelers[number % len(travelers)])

    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    reports = settled_revenue_reports(gateway, admin)
    by_currency, by_provider = as_the_ledger_sums(reports)
    ledger_by_currency, ledger_by_provider = asyncio.run(ledger_sums(database_url))

    assert by_currency == ledger_by_currency, str(run)
    for currency, (provider, _) in providers.items():
        key = (_provider_id(gateway, provider), currency)
        assert key in ledger_by_provider, str(run)
        assert by_provider[key] == ledger_by_provider[key], str(run)
        # The provider's own view agrees with the admin's and the ledger's.
        own = settled_revenue_reports(gateway, provider)["currency"]
        assert [(group["currency"], Decimal(group["gmv"]), Decimal(group["refunds"])) for group in own] == [
            (currency, *ledger_by_provider[key][:2])
        ], str(run)
