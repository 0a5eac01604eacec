"""Traces: off unless configured, written where configured, carried from the outbox through
Kafka headers into the consumer (and the events it writes), and named in the JSON logs."""

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic_settings import SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import create_session_factory, transaction
from shared.events.consumer import ConsumerSpec, EventConsumer
from shared.events.envelope import EventEnvelope, dead_letter_topic_for, topic_for
from shared.events.kafka import create_producer, ensure_topics
from shared.events.models import OutboxMessage
from shared.events.outbox import add_event
from shared.logging import configure_logging
from shared.metrics import AppMetrics
from shared.settings import AppSettings
from shared.testing import collected_spans
from shared.tests.plumbing import ThingHappened, create_schema, running_relay
from shared.tracing import (
    JsonLinesSpanExporter,
    carrier_from_kafka_headers,
    current_ids,
    span_exporter,
)


class _Settings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="TRACINGTEST_", extra="ignore", frozen=True)
    service_name = "tracingtest"
    db_schema = "tracingtest"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with collected_spans() as exporter:
        yield exporter


def test_tracing_is_off_unless_an_exporter_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRACING_EXPORTER", "TRACINGTEST_TRACING_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    settings = _Settings()
    assert settings.tracing_exporter == "none"
    assert span_exporter("none", service_name="x", otlp_endpoint="http://collector:4318", directory=None) is None


def test_the_exporter_and_its_endpoint_are_platform_wide_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACING_EXPORTER", "otlp")
    monkeypatch.setenv("TRACING_OTLP_ENDPOINT", "http://collector:4318/v1/traces")
    monkeypatch.setenv("TRACINGTEST_TRACING_SAMPLE_RATIO", "0.25")
    settings = _Settings()
    assert (settings.tracing_exporter, settings.tracing_otlp_endpoint, settings.tracing_sample_ratio) == (
        "otlp",
        "http://collector:4318/v1/traces",
        0.25,
    )
    exporter = span_exporter(
        settings.tracing_exporter, service_name="x", otlp_endpoint=settings.tracing_otlp_endpoint, directory=None
    )
    assert type(exporter).__name__ == "OTLPSpanExporter"


def test_the_file_exporter_writes_one_json_span_a_line(tmp_path: Path) -> None:
    provider = TracerProvider()
    exporter = JsonLinesSpanExporter(tmp_path / "spans.jsonl")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("outer") as outer, tracer.start_as_current_span("inner"):
        pass
    provider.shutdown()
    lines = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert [line["name"] for line in lines] == ["inner", "outer"]
    assert {line["context"]["trace_id"] for line in lines} == {f"0x{outer.get_span_context().trace_id:032x}"}


@pytest.mark.usefixtures("restored_root_logger")
def test_a_log_line_names_the_current_trace_and_span(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service_name="booking", level="INFO")
    with trace.get_tracer("test").start_as_current_span("request") as span:
        logging.getLogger("booking.test").info("inside")
    logging.getLogger("booking.test").info("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines()[-2:])
    context = span.get_span_context()
    assert (inside["trace_id"], inside["span_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert (outside["trace_id"], outside["span_id"]) == (None, None)


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def schema() -> str:
    return f"tracing_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(database_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = await create_schema(database_url, schema)
    yield engine
    await engine.dispose()


async def _first_message_headers(bootstrap_servers: str, topic: str) -> list[tuple[str, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=20)
        return list(record.headers)
    finally:
        await consumer.stop()


async def test_an_event_carries_its_trace_from_the_outbox_through_kafka_headers_into_the_consumer(
    spans: InMemorySpanExporter, engine: AsyncEngine, schema: str, bootstrap_servers: str
) -> None:
    sessions = create_session_factory(engine)
    consumer_name = f"consumer-{schema}"
    await ensure_topics(
        bootstrap_servers, [topic_for(schema), dead_letter_topic_for(consumer_name)], partitions=1, replication_factor=1
    )
    seen: list[tuple[str | None, str | None]] = []
    spans.clear()

    async def continue_the_flow(session: AsyncSession, envelope: EventEnvelope) -> None:
        seen.append(current_ids())
        add_event(session, ThingHappened(key="next", seq=2), producer=f"{schema}-next", key="next")

    with trace.get_tracer("test").start_as_current_span("checkout") as checkout:
        async with transaction(sessions) as session:
            add_event(session, ThingHappened(key="k", seq=1), producer=schema, key="k")
    trace_id = f"{checkout.get_span_context().trace_id:032x}"
    checkout_span_id = f"{checkout.get_span_context().span_id:016x}"

    dead_letters = create_producer(bootstrap_servers, client_id=f"dlq-{schema}")
    consumer = EventConsumer(
        spec=ConsumerSpec(
            name=consumer_name, topics=(topic_for(schema),), handlers={(ThingHappened.event_type, 1): continue_the_flow}
        ),
        session_factory=sessions,
        bootstrap_servers=bootstrap_servers,
        dead_letter_producer=dead_letters,
        metrics=AppMetrics(f"tracingtest{schema}").consumer,
    )
    consuming = asyncio.create_task(consumer.run())
    try:
        async with running_relay(sessions, bootstrap_servers, schema):
            headers = await _first_message_headers(bootstrap_servers, topic_for(schema))
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.1)
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        await dead_letters.stop()

    traceparent = carrier_from_kafka_headers(headers)["traceparent"]
    assert traceparent.split("-")[1:3] == [trace_id, checkout_span_id], "the relay sends the writer's W3C context first"
    assert [header for header, _ in headers].count("event_type") == 1
    assert [trace_of_handler for trace_of_handler, _ in seen] == [trace_id], "the handler runs in the producer's trace"
    process = next(span for span in spans.get_finished_spans() if span.name.startswith(f"{consumer_name} process"))
    assert process.parent is not None
    assert process.parent.span_id == checkout.get_span_context().span_id
    assert process.kind == trace.SpanKind.CONSUMER
    untraced_queries = [
        span.name
        for span in spans.get_finished_spans()
        if span.parent is None and (span.attributes or {}).get("db.system")
    ]
    assert untraced_queries == [], "the relay's polling makes no traces of its own"
    async with sessions() as session:
        written = await session.scalar(select(OutboxMessage.envelope).where(OutboxMessage.key == "next"))
    assert written is not None
    assert written["trace_context"]["traceparent"].split("-")[1] == trace_id, "its own events carry the trace on"


def test_a_message_without_trace_headers_names_no_parent() -> None:
    assert carrier_from_kafka_headers([("event_type", b"x")]) == {}
    assert carrier_from_kafka_headers(None) == {}
