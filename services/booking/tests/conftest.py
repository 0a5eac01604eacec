import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.bookings.domain import new_reference
from services.booking.bookings.models import Booking
from services.booking.main import build_app
from services.booking.settings import BookingSettings
from services.booking.upstreams.binding import UpstreamPools
from shared.clock import FrozenClock
from shared.contracts.payment_api import PaymentIntent, PaymentIntentRequest
from shared.db import create_engine, create_session_factory
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import development_signer, identity_headers, trust_test_keys


@dataclass
class BookingApp:
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: BookingSettings
    sessions: async_sessionmaker[AsyncSession]
    app: FastAPI

    def as_(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity, audience=self.settings.service_name)

    async def add_booking(
        self, *, traveler: Identity, provider: Identity, starts_in: timedelta, **fields: Any
    ) -> Booking:
        """A booking as the saga leaves it (confirmed unless told), for a two-hour slot."""
        starts_at = self.clock.now() + starts_in
        columns: dict[str, Any] = {
            "id": uuid.uuid4(),
            "reference": new_reference(starts_at.year),
            "traveler_id": traveler.user_id,
            "provider_id": provider.user_id,
            "listing_id": uuid.uuid4(),
            "slot_id": uuid.uuid4(),
            "hold_id": uuid.uuid4(),
            "status": "confirmed",
            "adults": 2,
            "children": 0,
            "infants": 0,
            "seats": 2,
            "total": Decimal("88.00"),
            "amount_due_now": Decimal("88.00"),
            "currency": "EUR",
            "payment_option": "full",
            "quote": {},
            "contact": {"name": "Ana", "email": "ana@example.com"},
            "listing_title": "Sunset kayak tour",
            "category": "tour",
            "timezone": "Europe/Lisbon",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=2),
            "expires_at": self.clock.now() + timedelta(minutes=15),
            "paid_at": self.clock.now(),
            "cancellation_policy": {},
        }
        booking = Booking(**columns | fields)
        async with self.sessions() as session, session.begin():
            session.add(booking)
        return booking


def answer(status_code: int, shape: BaseModel) -> httpx.Response:
    """A stand-in upstream's answer in a contract's shape."""
    return httpx.Response(status_code, content=shape.model_dump_json(), headers={"content-type": "application/json"})


def intent_for(asked: PaymentIntentRequest) -> PaymentIntent:
    """What payment answers to `asked`: one intent per booking and purpose, paid by card."""
    intent = f"pi_{str(asked.booking_id)[:8]}_{asked.purpose}"
    return PaymentIntent(
        id=uuid.uuid5(asked.booking_id, asked.purpose),
        booking_id=asked.booking_id,
        purpose=asked.purpose,
        payment_intent_id=intent,
        client_secret=f"{intent}_secret",
        amount=asked.amount,
        currency=asked.currency,
        status="requires_payment_method",
        platform_fee=Decimal(0),
        credit_amount=Decimal(0),
        card_amount=asked.amount,
    )


def _not_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"booking was not expected to call {request.url}")


@contextlib.asynccontextmanager
async def upstream_pools(
    *,
    inventory: Callable[[httpx.Request], httpx.Response] = _not_called,
    payment: Callable[[httpx.Request], httpx.Response] = _not_called,
) -> AsyncIterator[UpstreamPools]:
    """Booking's upstreams, each stood in for by a function from request to answer."""
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(inventory), base_url="http://inventory") as to_inventory,
        httpx.AsyncClient(transport=httpx.MockTransport(payment), base_url="http://payment") as to_payment,
    ):
        yield UpstreamPools(inventory=to_inventory, payment=to_payment, signer=development_signer("booking"))


@contextlib.asynccontextmanager
async def running_booking(
    database_url: str, redis_url: str, bootstrap_servers: str, **settings_fields: Any
) -> AsyncIterator[BookingApp]:
    """A booking app in this process, on a frozen clock, driven over HTTP; its consumers are
    exercised end to end. `settings_fields` set settings besides the test defaults."""
    await asyncio.to_thread(upgrade_to_head, Path("services/booking/migrations"), database_url=database_url)
    settings = BookingSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        consumers_enabled=False,
        **settings_fields,
    )
    clock = FrozenClock(datetime(2031, 5, 4, 9, 0, tzinfo=UTC))
    app = build_app(settings, clock=clock)
    trust_test_keys(app, settings)
    engine = create_engine(database_url=database_url, schema="booking")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://booking") as client:
                yield BookingApp(
                    client=client, clock=clock, settings=settings, sessions=create_session_factory(engine), app=app
                )
    finally:
        await engine.dispose()


@pytest.fixture
async def booking_app(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[BookingApp]:
    async with running_booking(database_url, redis_url, bootstrap_servers) as running:
        yield running
