"""Stripe calls on a flaky network: a call that fails in transit is retried with backoff under
the same idempotency key and charges once; a refund Stripe keeps refusing is tried again later,
each time after a longer wait, and made once; refunds decided before Stripe has made any never
add up to more than was captured."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.payment.intents.consumers import refund_what_booking_decided
from services.payment.intents.models import Payment, StripeCommand
from services.payment.intents.service import retry_delay, run_pending_stripe_commands
from services.payment.ledger.models import LedgerTransaction
from services.payment.ledger.service import unbalanced_transactions
from services.payment.main import build_app
from services.payment.settings import PaymentSettings
from services.payment.stripe_gateway import create_stripe_client
from services.payment.webhooks.service import handle_event
from shared.clock import FrozenClock
from shared.contracts.booking import BookingRefundRequested
from shared.migrations import upgrade_to_head
from shared.testing import development_signer, make_identity, trust_test_keys
from shared.tests.servers import served

T0 = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


@dataclass
class FlakyStripe:
    """localstripe behind a network that fails on demand: the next `n` calls to a method and
    path answer 500 before reaching Stripe (so nothing happened there, as Stripe promises for
    its 5xx with an idempotency key). Records every call with its Idempotency-Key."""

    upstream: str
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def fail_next(self, method: str, path: str, times: int) -> None:
        self.failures[(method, path)] = times

    def keys_of(self, method: str, path: str) -> list[str | None]:
        return [key for called, at, key in self.calls if (called, at) == (method, path)]

    async def _relay(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        self.calls.append((method, path, request.headers.get("idempotency-key")))
        if self.failures.get((method, path), 0) > 0:
            self.failures[(method, path)] -= 1
            return JSONResponse({"error": {"type": "api_error", "message": "injected failure"}}, status_code=500)
        async with httpx.AsyncClient(base_url=self.upstream, timeout=10) as client:
            answer = await client.request(
                method,
                path,
                params=request.url.query,
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")},
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    def app(self) -> Starlette:
        methods = ["GET", "POST", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self._relay, methods=methods)])


@dataclass
class FlakyPaymentApp:
    client: httpx.AsyncClient
    localstripe: httpx.AsyncClient
    flaky: FlakyStripe
    settings: PaymentSettings
    stripe_client: stripe.StripeClient
    sessions: async_sessionmaker[AsyncSession]

    def as_a_traveler(self) -> dict[str, str]:
        return development_signer("booking").acting_as(make_identity("traveler"), audience="payment")


@pytest.fixture
async def flaky_app(
    database_url: str, redis_url: str, bootstrap_servers: str, stripe_api_base: str
) -> AsyncIterator[FlakyPaymentApp]:
    """A payment app whose Stripe is localstripe behind `FlakyStripe`. Its own command loop runs
    once at start and then waits an hour, so the test drives each try on its own clock."""
    await asyncio.to_thread(upgrade_to_head, Path("services/payment/migrations"), database_url=database_url)
    flaky = FlakyStripe(upstream=stripe_api_base)
    async with served(flaky.app()) as flaky_server:
        settings = PaymentSettings(
            database_url=database_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=bootstrap_servers,
            consumers_enabled=False,
            stripe_api_base=flaky_server.url,
            stripe_command_interval_seconds=3600,
            stripe_max_network_retries=2,
        )
        app = build_app(settings, clock=FrozenClock(T0))
        trust_test_keys(app, settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payment") as client,
            httpx.AsyncClient(base_url=stripe_api_base, auth=(settings.stripe_api_key, ""), timeout=10) as ls,
        ):
            # The app's own sessions: what the test drives through them is counted in its metrics.
            sessions = app.state.resources.session_factory
            yield FlakyPaymentApp(
                client=client,
                localstripe=ls,
                flaky=flaky,
                settings=settings,
                stripe_client=create_stripe_client(settings),
                sessions=sessions,
            )
            async with sessions() as session:
                assert await unbalanced_transactions(session) == []


async def _intent_for(app: FlakyPaymentApp, booking_id: uuid.UUID, amount: str) -> httpx.Response:
    return await app.client.post(
        "/internal/payment-intents",
        json={
            "booking_id": str(booking_id),
            "provider_id": str(uuid.uuid4()),
            "category": "tour",
            "amount": amount,
            "currency": "EUR",
        },
        headers=app.as_a_traveler(),
    )


async def _paid(app: FlakyPaymentApp, booking_id: uuid.UUID, amount: str) -> str:
    """A captured payment of `amount` for the booking: made, paid at localstripe, and seen."""
    created = await _intent_for(app, booking_id, amount)
    assert created.status_code == 201, created.text
    intent_id: str = created.json()["payment_intent_id"]
    await app.localstripe.post(f"/v1/payment_intents/{intent_id}", data={"payment_method": "pm_card_visa"})
    confirmed = await app.localstripe.post(f"/v1/payment_intents/{intent_id}/confirm")
    assert confirmed.json()["status"] == "succeeded", confirmed.text
    event = stripe.Event.construct_from(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": intent_id}},
        },
        app.settings.stripe_api_key,
    )
    async with app.sessions() as session:
        assert await handle_event(session, event=event, stripe_client=app.stripe_client, now=T0) == "succeeded"
    return intent_id


async def _decide_refund(app: FlakyPaymentApp, booking_id: uuid.UUID, amount: str, reason: str) -> None:
    """What payment does when booking's refund decision arrives."""
    async with app.sessions() as session, session.begin():
        await refund_what_booking_decided(
            session,
            BookingRefundRequested(booking_id=booking_id, amount=Decimal(amount), currency="EUR", reason=reason),
        )


async def _run_commands_at(app: FlakyPaymentApp, at: datetime) -> int:
    return await run_pending_stripe_commands(
        app.sessions,
        stripe_client=app.stripe_client,
        now=at,
        first_retry=timedelta(seconds=2),
        longest_retry=timedelta(hours=1),
    )


async def test_a_call_that_fails_in_transit_is_retried_under_one_idempotency_key_and_makes_one_intent(
    flaky_app: FlakyPaymentApp,
) -> None:
    booking_id = uuid.uuid4()
    flaky_app.flaky.fail_next("POST", "/v1/payment_intents", times=2)

    created = await _intent_for(flaky_app, booking_id, "88.00")

    assert created.status_code == 201, created.text
    keys = flaky_app.flaky.keys_of("POST", "/v1/payment_intents")
    assert keys == [f"intent:{booking_id}:full"] * 3
    again = await _intent_for(flaky_app, booking_id, "88.00")
    assert again.json()["payment_intent_id"] == created.json()["payment_intent_id"]
    assert len(flaky_app.flaky.keys_of("POST", "/v1/payment_intents")) == 3
    async with flaky_app.sessions() as session:
        assert await session.scalar(select(func.count()).where(Payment.booking_id == booking_id)) == 1


async def test_a_call_that_keeps_failing_is_a_502_and_asking_again_later_makes_the_same_intent(
    flaky_app: FlakyPaymentApp,
) -> None:
    booking_id = uuid.uuid4()
    flaky_app.flaky.fail_next("POST", "/v1/payment_intents", times=3)

    refused = await _intent_for(flaky_app, booking_id, "40.00")
    made = await _intent_for(flaky_app, booking_id, "40.00")

    assert refused.status_code == 502, refused.text
    assert refused.json()["error_code"] == "BAD_GATEWAY"
    assert made.status_code == 201, made.text
    assert set(flaky_app.flaky.keys_of("POST", "/v1/payment_intents")) == {f"intent:{booking_id}:full"}


async def test_a_refund_stripe_keeps_refusing_is_tried_after_growing_waits_and_made_once(
    flaky_app: FlakyPaymentApp,
) -> None:
    booking_id = uuid.uuid4()
    intent_id = await _paid(flaky_app, booking_id, "100.00")
    await _decide_refund(flaky_app, booking_id, "60.00", reason="traveler-cancelled")
    # Each run's call is tried three times by the SDK (two retries) before the run gives up.
    flaky_app.flaky.fail_next("POST", "/v1/refunds", times=6)

    timeline = [
        (T0, 0, 3),  # fails: next try at +2 s
        (T0 + timedelta(seconds=1), 0, 3),  # not due yet: Stripe is not asked
        (T0 + timedelta(seconds=2), 0, 6),  # fails again: next at +2 + 4 s
        (T0 + timedelta(seconds=5), 0, 6),
        (T0 + timedelta(seconds=6), 1, 7),  # made
        (T0 + timedelta(seconds=60), 0, 7),  # and never again
    ]
    for at, made, calls_so_far in timeline:
        assert await _run_commands_at(flaky_app, at) == made, at
        assert len(flaky_app.flaky.keys_of("POST", "/v1/refunds")) == calls_so_far, at

    assert set(flaky_app.flaky.keys_of("POST", "/v1/refunds")) == {
        f"refund:{intent_id}:{booking_id}:traveler-cancelled"
    }
    refunds = (await flaky_app.localstripe.get("/v1/refunds", params={"payment_intent": intent_id})).json()["data"]
    assert [refund["amount"] for refund in refunds] == [6000]
    async with flaky_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))
        assert payment is not None
        assert payment.amount_refunded == Decimal("60.00")
        command = await session.scalar(select(StripeCommand).where(StripeCommand.payment_id == payment.id))
        assert command is not None
        assert (command.status, command.attempts) == ("done", 3)
        refunds_posted = await session.scalar(
            select(func.count()).where(LedgerTransaction.booking_id == booking_id, LedgerTransaction.kind == "refund")
        )
        assert refunds_posted == 1
    metrics = (await flaky_app.client.get("/metrics")).text
    refund_outcomes = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "payment_refunds_total"
    }
    assert refund_outcomes == {"failed": 2, "succeeded": 1}


async def test_refunds_decided_before_stripe_made_any_never_exceed_what_was_captured(
    flaky_app: FlakyPaymentApp,
) -> None:
    booking_id = uuid.uuid4()
    intent_id = await _paid(flaky_app, booking_id, "100.00")

    await _decide_refund(flaky_app, booking_id, "80.00", reason="modified-smaller")
    await _decide_refund(flaky_app, booking_id, "50.00", reason="traveler-cancelled")
    await _decide_refund(flaky_app, booking_id, "10.00", reason="goodwill")
    while await _run_commands_at(flaky_app, T0 + timedelta(hours=2)):
        pass

    refunds = (await flaky_app.localstripe.get("/v1/refunds", params={"payment_intent": intent_id})).json()["data"]
    assert sorted(refund["amount"] for refund in refunds) == [2000, 8000]
    async with flaky_app.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))
        assert payment is not None
        assert (payment.amount_refunded, payment.amount_refund_decided) == (Decimal("100.00"), Decimal("100.00"))


@given(
    attempts=st.integers(min_value=1, max_value=200),
    first=st.integers(min_value=1, max_value=60),
    longest=st.integers(min_value=60, max_value=86_400),
)
def test_the_wait_before_a_retry_doubles_from_the_first_and_never_exceeds_the_longest(
    attempts: int, first: int, longest: int
) -> None:
    first_wait, longest_wait = timedelta(seconds=first), timedelta(seconds=longest)
    wait = retry_delay(attempts, first=first_wait, longest=longest_wait)
    following = retry_delay(attempts + 1, first=first_wait, longest=longest_wait)

    assert first_wait <= wait <= longest_wait
    assert following == min(wait * 2, longest_wait)
    assert retry_delay(1, first=first_wait, longest=longest_wait) == first_wait
