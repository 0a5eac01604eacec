"""Traces: the OpenTelemetry SDK and instrumentation, set up once per process from settings,
and the W3C trace context carried where a request's work goes on later (events, webhooks).

`tracing_exporter` picks where spans go: `none` (the default: no SDK, nothing recorded),
`otlp` (OTLP over HTTP to `tracing_otlp_endpoint`), `console` (stdout), or `file` (one JSON
span a line, in a file per process under `tracing_directory`, which the end-to-end tests read).

Even with `none`, a trace context that arrives (a `traceparent` header, an event's) is passed on
unchanged: the API's no-op spans carry their parent's context, so an app without an exporter
does not break the trace of the apps around it.
"""

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import IO, Literal

from fastapi import FastAPI
from opentelemetry import context, trace
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TracingExporter = Literal["none", "otlp", "console", "file"]
# Requests the probes and Prometheus make many times a minute: no trace is worth their noise.
UNTRACED_URLS = "healthz,readyz,metrics"

# Only the standard W3C headers (traceparent, tracestate): what every other system reads.
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("shared.tracing")
_configured_lock = Lock()
_configured = False


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one JSON object a line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._lock = Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                self._file.write(span.to_json(indent=None) + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def span_exporter(
    kind: TracingExporter, *, service_name: str, otlp_endpoint: str, directory: str | None
) -> SpanExporter | None:
    """Where the spans of this process go; None when tracing is off."""
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter(out=sys.stdout)
    if kind == "file":
        if directory is None:
            raise ValueError("tracing_exporter=file needs tracing_directory")
        return JsonLinesSpanExporter(Path(directory) / f"{service_name}-{os.getpid()}.jsonl")
    # Imported here: the protobuf encoder is of no use to a process that does not export OTLP.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=otlp_endpoint)


def configure_tracing(
    *,
    service_name: str,
    exporter: TracingExporter,
    sample_ratio: float,
    otlp_endpoint: str,
    directory: str | None = None,
) -> bool:
    """Install the SDK and instrument the libraries, once per process (a test process builds
    many apps; the first one's settings win). False if tracing is off."""
    with _configured_lock:
        if _configured:
            return True
        span_out = span_exporter(exporter, service_name=service_name, otlp_endpoint=otlp_endpoint, directory=directory)
        if span_out is None:
            return False
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service_name}),
            # A sampled caller's trace is kept whole; a new trace is kept at the ratio.
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        provider.add_span_processor(BatchSpanProcessor(span_out, schedule_delay_millis=500))
        _install(provider)
        return True


def install_provider(provider: TracerProvider) -> None:
    """Make `provider` the process's and instrument the libraries every app uses with it; the
    apps built afterwards in this process trace into it whatever their settings say (a test's
    in-memory spans)."""
    with _configured_lock:
        _install(provider)


def _install(provider: TracerProvider) -> None:
    global _configured
    trace.set_tracer_provider(provider)
    _configured = True
    instrument_libraries(provider)


def instrument_libraries(provider: TracerProvider) -> None:
    """Trace the clients every app uses (and carry the trace in what they send) into `provider`."""
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument(tracer_provider=provider)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)


def uninstrument_libraries() -> None:
    """Leave the clients as they were: a test that traced them leaves no trace headers behind
    in the tests after it."""
    HTTPXClientInstrumentor().uninstrument()
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    RedisInstrumentor().uninstrument()
    AIOKafkaInstrumentor().uninstrument()


def instrument_app(app: FastAPI) -> None:
    """A server span for every request but the probes', continuing the caller's trace."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"])


def current_trace_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty outside any sampled or remote span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str]) -> context.Context:
    """The context a W3C carrier names; an empty context (a new trace) if it names none."""
    return _PROPAGATOR.extract(dict(carrier), context=context.Context())


def kafka_headers(carrier: Mapping[str, str]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in carrier.items()]


def carrier_from_kafka_headers(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """The W3C fields of a message's headers; the first of a repeated header wins (the one the
    outbox relay wrote, ahead of any the Kafka instrumentation appended)."""
    carrier: dict[str, str] = {}
    for name, value in headers or ():
        if name in _PROPAGATOR.fields and name not in carrier and value is not None:
            carrier[name] = value.decode()
    return carrier


@contextmanager
def attached(carrier: Mapping[str, str]) -> Iterator[None]:
    """Make the carrier's context the current one for the block (what the Kafka
    instrumentation's send span hangs from)."""
    token = context.attach(context_from(carrier))
    try:
        yield
    finally:
        context.detach(token)


@contextmanager
def untraced() -> Iterator[None]:
    """No spans for the library calls of the block: a loop's polling would otherwise be a trace
    of its own ten times a second. A carrier `attached` inside it is traced again."""
    with suppress_instrumentation():
        yield


@contextmanager
def continue_trace(
    carrier: Mapping[str, str],
    name: str,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    attributes: Mapping[str, str] | None = None,
    link_current: bool = False,
) -> Iterator[Span]:
    """A span, current for the block, whose parent is the context in `carrier` rather than the
    current one: work done later, elsewhere, on behalf of the request that wrote the carrier.
    `link_current` links the span that was current (a webhook's own request span, say)."""
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if link_current and current.is_valid else []
    with _tracer.start_as_current_span(
        name, context=context_from(carrier), kind=kind, attributes=dict(attributes or {}), links=links
    ) as span:
        yield span


def current_ids() -> tuple[str | None, str | None]:
    """The current trace and span ids, in the hex form tracing backends show; None outside a span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return trace.format_trace_id(span_context.trace_id), trace.format_span_id(span_context.span_id)
