import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.infra import free_port, localstripe_command, stripe_connect_double_command, wait_for_port
from services.payment.ledger.service import unbalanced_transactions
from services.payment.main import build_app
from services.payment.settings import PaymentSettings
from services.payment.stripe_gateway import create_stripe_client
from services.payment.webhooks.service import handle_event
from shared.clock import FrozenClock
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import development_signer, identity_headers, make_identity, trust_test_keys


@dataclass
class PaymentApp:
    client: httpx.AsyncClient
    stripe: httpx.AsyncClient
    settings: PaymentSettings
    sessions: async_sessionmaker[AsyncSession]
    # The Stripe Connect test double payment talks to (its /_double control endpoints).
    stripe_double: httpx.AsyncClient

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience=self.settings.service_name)

    async def new_intent(
        self,
        *,
        amount: str,
        booking_id: UUID | None = None,
        provider_id: UUID | None = None,
        category: str = "tour",
        currency: str = "EUR",
        traveler: Identity | None = None,
        off_session: bool = False,
    ) -> httpx.Response:
        """What booking asks of payment for a booking's intent, on a traveler's behalf."""
        body = {
            "booking_id": str(booking_id or uuid.uuid4()),
            "provider_id": str(provider_id or uuid.uuid4()),
            "category": category,
            "amount": amount,
            "currency": currency,
            "off_session": off_session,
        }
        return await self.client.post(
            "/internal/payment-intents",
            json=body,
            headers=development_signer("booking").acting_as(traveler or make_identity("traveler"), audience="payment"),
        )

    async def pay_at_stripe(self, intent_id: str) -> None:
        """What a traveler's client does: a card on the intent, then confirm it."""
        updated = await self.stripe.post(f"/v1/payment_intents/{intent_id}", data={"payment_method": "pm_card_visa"})
        assert updated.status_code == 200, updated.text
        confirmed = await self.stripe.post(f"/v1/payment_intents/{intent_id}/confirm")
        assert confirmed.json()["status"] == "succeeded", confirmed.text

    async def stripe_says_succeeded(self, intent_id: str) -> str:
        """What the webhook handler does with Stripe's word that the intent succeeded."""
        event = stripe.Event.construct_from(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": intent_id}},
            },
            self.settings.stripe_api_key,
        )
        async with self.sessions() as session:
            return await handle_event(
                session, event=event, stripe_client=create_stripe_client(self.settings), now=datetime.now(UTC)
            )


@pytest.fixture(scope="session")
def stripe_api_base() -> Iterator[str]:
    """A localstripe of the session's own, as the dev stack runs it."""
    command = localstripe_command(free_port())
    assert command.ready_port is not None
    process = subprocess.Popen(command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", command.ready_port, timeout=20)
        yield f"http://127.0.0.1:{command.ready_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def stripe_connect_double(stripe_api_base: str) -> Iterator[str]:
    """The Stripe Connect test double in front of the session's localstripe, as the dev stack runs it."""
    command = stripe_connect_double_command(free_port(), upstream=stripe_api_base)
    assert command.ready_port is not None
    process = subprocess.Popen(command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", command.ready_port, timeout=20)
        yield f"http://127.0.0.1:{command.ready_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def payment_app(
    database_url: str, redis_url: str, bootstrap_servers: str, stripe_api_base: str, stripe_connect_double: str
) -> AsyncIterator[PaymentApp]:
    """A payment app in this process, talking to Stripe through the Connect test double (clients
    pay at localstripe itself); its Stripe command loop runs."""
    await asyncio.to_thread(upgrade_to_head, Path("services/payment/migrations"), database_url=database_url)
    settings = PaymentSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        consumers_enabled=False,
        stripe_api_base=stripe_connect_double,
        stripe_command_interval_seconds=0.1,
    )
    app = build_app(settings, clock=FrozenClock(datetime(2031, 5, 4, 9, 0, tzinfo=UTC)))
    trust_test_keys(app, settings)
    engine = create_engine(database_url=database_url, schema="payment")
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payment") as client,
            httpx.AsyncClient(base_url=stripe_api_base, auth=(settings.stripe_api_key, ""), timeout=10) as stripe,
            httpx.AsyncClient(base_url=stripe_connect_double, timeout=10) as stripe_double,
        ):
            sessions = create_session_factory(engine)
            yield PaymentApp(
                client=client, stripe=stripe, settings=settings, sessions=sessions, stripe_double=stripe_double
            )
        # After every test, the ledger sums to zero per transaction (and so per currency).
        async with sessions() as session:
            assert await unbalanced_transactions(session) == []
    finally:
        await engine.dispose()
