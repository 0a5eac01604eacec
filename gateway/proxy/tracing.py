"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the gateway is one span of the
caller's trace. It keeps the trace id a client sent and names itself the parent of what the
service does; a client that sent none (or an invalid one) starts a new trace here."""

import re
import secrets

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"

# version-traceid-parentid-flags; a later version may append fields, which this one ignores.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
# Nothing is recorded here, so a trace started here is not marked sampled.
_NEW_TRACE_FLAGS = "00"


def _random_hex_id(length: int) -> str:
    while True:
        candidate = secrets.token_hex(length // 2)
        if candidate != "0" * length:
            return candidate


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """The trace id and flags of a valid `traceparent`, else None."""
    if value is None:
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _INVALID_TRACE_ID or parent_id == _INVALID_SPAN_ID:
        return None
    return trace_id, flags


def child_traceparent(incoming: str | None) -> str:
    """The `traceparent` to send on: the caller's trace with the gateway's span as the parent,
    or a new trace."""
    parsed = parse_traceparent(incoming)
    trace_id, flags = parsed if parsed is not None else (_random_hex_id(32), _NEW_TRACE_FLAGS)
    return f"00-{trace_id}-{_random_hex_id(16)}-{flags}"


def trace_headers(traceparent: str | None, tracestate: str | None) -> list[tuple[str, str]]:
    """The trace headers to send on. `tracestate` belongs to the caller's trace, so it goes on
    only with that trace (the spec drops it with an invalid `traceparent`)."""
    headers = [(TRACEPARENT_HEADER, child_traceparent(traceparent))]
    if tracestate and parse_traceparent(traceparent) is not None:
        headers.append((TRACESTATE_HEADER, tracestate))
    return headers
