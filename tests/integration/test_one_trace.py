"""One instant booking is one trace, seen by an in-memory exporter: the gateway and every
service run in this process (each on a port of its own, as `make up` lays them out), traced
into one SDK provider, against the real database, Redis, broker and localstripe, whose webhook
reaches payment through the gateway."""

import asyncio
import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.apps import ALL_APPS, AppSpec
from devstack.infra import ensure_database
from devstack.stack import StackPlan, plan_stack, prepare_data_stores, register_stripe_webhook
from devstack.supervisor import Supervisor
from shared.testing import collected_spans
from tests.flows import listing_with_slot, mail_about, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

# (service, span) that must share the booking's trace, in the order the flow reaches them. In
# one process the apps share one provider, so one resource: a span is known by its name, which
# names its service (a route only that app serves, a consumer named after its service).
FLOW = (
    ("gateway", "POST /api/v1/{path:path}"),
    ("booking", "POST /bookings"),
    ("payment", "POST /internal/payment-intents"),
    ("payment", "stripe webhook payment_intent.succeeded"),
    ("booking", "booking.saga process payment.events"),
    ("inventory", "inventory.booking-events process booking.events"),
    ("notification", "notification.booking-events process booking.events"),
)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The apps' settings read the environment when they are built."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _build(spec: AppSpec) -> tuple[FastAPI, int]:
    settings = spec.settings()
    app: FastAPI = importlib.import_module(f"{spec.package}.main").build_app(settings)
    return app, settings.port


@contextlib.asynccontextmanager
async def _serving(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError(f"the app on port {port} stopped before it started")
            await asyncio.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        await task


async def _ready(ports: PlatformPorts, within_seconds: float = 30) -> None:
    pending = dict(ports.apps)
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(within_seconds / 0.2)):
            for name, port in list(pending.items()):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        del pending[name]
            if not pending:
                return
            await asyncio.sleep(0.2)
        answers = {name: (await client.get(f"http://127.0.0.1:{port}/readyz")).text for name, port in pending.items()}
    raise TimeoutError(f"not ready: {answers}")


@pytest.fixture
async def platform_in_process(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[PlatformPorts, InMemorySpanExporter]]:
    """The platform in this process, on a database and a broker of its own: its payment's
    ledger and its events stay apart from the running platform the other tests check."""
    ports = PlatformPorts.free()
    own_database_url = f"{database_url}_traced"
    await ensure_database(own_database_url, recreate=True)
    # No KAFKA_BOOTSTRAP_SERVERS: the plan starts a broker of its own on the ports' broker port.
    environment = {name: value for name, value in os.environ.items() if name != "KAFKA_BOOTSTRAP_SERVERS"}
    plan: StackPlan = plan_stack(
        environment
        | ports.environment()
        | {"DATABASE_URL": own_database_url, "REDIS_URL": redis_url, "ENVIRONMENT": "test"}
    )
    await prepare_data_stores(plan)
    supervisor = Supervisor()
    with collected_spans() as spans:
        try:
            for command in plan.infrastructure:
                await supervisor.start(command)
            await asyncio.gather(*(supervisor.wait_ready(command) for command in plan.infrastructure))
            with _environment(ports.environment() | plan.app_environment | {"GATEWAY_RATE_LIMIT_SCALE": "1000"}):
                apps = [_build(spec) for spec in ALL_APPS]
            async with contextlib.AsyncExitStack() as serving:
                for app, port in apps:
                    await serving.enter_async_context(_serving(app, port))
                await _ready(ports)
                await register_stripe_webhook(
                    plan.app_environment["PAYMENT_STRIPE_API_BASE"],
                    url=f"{plan.endpoints['gateway']}/api/v1/payments/webhooks/stripe",
                    secret=plan.app_environment["PAYMENT_STRIPE_WEBHOOK_SECRET"],
                )
                spans.clear()
                yield ports, spans
        finally:
            await supervisor.stop_all()


def _book_and_pay(ports: PlatformPorts) -> int:
    """What a traveler does, from the hold to the confirmation email; the id of the trace the
    traveler's booking request starts (this client is traced too, into the same spans)."""
    with httpx.Client(base_url=ports.gateway_url, timeout=30) as gateway:
        provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
        _, slot_id = listing_with_slot(gateway, provider, capacity=4)
        hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler)
        assert hold.status_code == 201, hold.text
        with trace.get_tracer("traveler").start_as_current_span("book") as booking_span:
            created = gateway.post(
                "/api/v1/bookings",
                json={
                    "hold_id": hold.json()["id"],
                    "contact": {"name": "Tracy Traveler", "email": "tracy@example.com"},
                    "payment_option": "full",
                },
                headers=traveler,
            )
        assert created.status_code == 201, created.text
        booking = created.json()
        paid = pay(f"http://127.0.0.1:{ports.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
        assert paid.json()["status"] == "succeeded"
        wait_for_status(gateway, booking["id"], traveler, "confirmed")
        mail_about(ports.mail_http, booking["reference"])
    return booking_span.get_span_context().trace_id


def _flow_seen(spans: list[ReadableSpan], trace_id: int) -> set[tuple[str, str]]:
    names = {span.name for span in spans if span.context is not None and span.context.trace_id == trace_id}
    return {step for step in FLOW if step[1] in names}


async def test_an_instant_booking_is_one_trace_across_the_services_and_the_stripe_webhook(
    platform_in_process: tuple[PlatformPorts, InMemorySpanExporter],
) -> None:
    ports, spans = platform_in_process
    trace_id = await asyncio.to_thread(_book_and_pay, ports)
    for _ in range(100):
        if _flow_seen(list(spans.get_finished_spans()), trace_id) == set(FLOW):
            break
        await asyncio.sleep(0.2)
    in_trace = [span for span in spans.get_finished_spans() if span.context and span.context.trace_id == trace_id]
    assert set(FLOW) - _flow_seen(in_trace, trace_id) == set(), sorted({span.name for span in in_trace})
    (webhook,) = (span for span in in_trace if span.name == "stripe webhook payment_intent.succeeded")
    assert [link.context.trace_id != trace_id for link in webhook.links] == [True], (
        "the webhook's span links the request Stripe made, a trace of its own"
    )
