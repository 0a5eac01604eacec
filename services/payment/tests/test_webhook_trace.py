"""Stripe's webhook carries no trace context; its handling continues the trace of the checkout
that made the payment, so the events it writes carry that trace on to booking."""

import secrets
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from services.payment.tests.conftest import PaymentApp
from shared.events.models import OutboxMessage
from shared.testing import collected_spans, development_signer, make_identity


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Asked for before `payment_app`, so the app is built traced into these spans."""
    with collected_spans() as exporter:
        yield exporter


async def test_a_webhook_continues_the_trace_of_the_checkout_that_made_the_payment(
    spans: InMemorySpanExporter, payment_app: PaymentApp
) -> None:
    trace_id, caller_span_id = secrets.token_hex(16), secrets.token_hex(8)
    booking_id = uuid.uuid4()
    created = await payment_app.client.post(
        "/internal/payment-intents",
        json={
            "booking_id": str(booking_id),
            "provider_id": str(uuid.uuid4()),
            "category": "tour",
            "amount": "40.00",
            "currency": "EUR",
            "off_session": False,
        },
        headers=development_signer("booking").acting_as(make_identity("traveler"), audience="payment")
        | {"traceparent": f"00-{trace_id}-{caller_span_id}-01"},
    )
    assert created.status_code == 201, created.text
    intent_id = created.json()["payment_intent_id"]
    await payment_app.pay_at_stripe(intent_id)

    with trace.get_tracer("test").start_as_current_span("stripe's request") as request_span:
        assert await payment_app.stripe_says_succeeded(intent_id) == "succeeded"

    webhook = next(
        span for span in spans.get_finished_spans() if span.name == "stripe webhook payment_intent.succeeded"
    )
    assert webhook.context is not None
    assert f"{webhook.context.trace_id:032x}" == trace_id
    assert [link.context.span_id for link in webhook.links] == [request_span.get_span_context().span_id]
    async with payment_app.sessions() as session:
        succeeded = await session.scalar(
            select(OutboxMessage.envelope).where(
                OutboxMessage.event_type == "payment.succeeded", OutboxMessage.key == str(booking_id)
            )
        )
    assert succeeded is not None
    assert succeeded["trace_context"]["traceparent"].split("-")[1] == trace_id
