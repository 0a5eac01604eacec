"""The one envelope every event travels in, and the registry of versioned event types.

An event type is a frozen Pydantic model registered with its dotted past-tense name and an
integer version: `@register_event("booking.confirmed", version=1)`. Payloads are read
tolerantly: a field the reader does not know is ignored, so a producer may add an optional
field without a new version. Any other change is a new version registered beside the old one,
with an upcaster that lifts the old payload to the new one (`register_upcaster`), so a consumer
written for the new version still reads events written before it.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses are registered with `register_event`."""

    # Tolerant reader: a producer one release ahead may send fields this reader does not know.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    event_version: ClassVar[int]


PayloadT = TypeVar("PayloadT", bound=type[EventPayload])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UpcasterT = TypeVar("UpcasterT", bound=Upcaster)

_registry: dict[tuple[str, int], type[EventPayload]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}


class UnknownEventType(LookupError):
    pass


def register_event(event_type: str, *, version: int = 1) -> Callable[[PayloadT], PayloadT]:
    """Class decorator: makes a payload model known under (event_type, version)."""

    def decorate(cls: PayloadT) -> PayloadT:
        existing = _registry.get((event_type, version))
        if existing is not None and existing is not cls:
            raise ValueError(f"event {event_type} v{version} is already registered by {existing.__qualname__}")
        cls.event_type = event_type
        cls.event_version = version
        _registry[(event_type, version)] = cls
        return cls

    return decorate


def register_upcaster(event_type: str, *, from_version: int) -> Callable[[UpcasterT], UpcasterT]:
    """Function decorator: lifts a payload of `event_type` v`from_version` (as a dict) to the
    next version's, so a consumer written for the next version reads the older events too."""

    def decorate(lift: UpcasterT) -> UpcasterT:
        existing = _upcasters.get((event_type, from_version))
        if existing is not None and existing is not lift:
            raise ValueError(f"event {event_type} v{from_version} already has an upcaster: {existing.__qualname__}")
        _upcasters[(event_type, from_version)] = lift
        return lift

    return decorate


def upcast(event_type: str, payload: dict[str, Any], *, from_version: int, to_version: int) -> dict[str, Any] | None:
    """The payload lifted one version at a time up to `to_version`; None if a step has no upcaster."""
    for version in range(from_version, to_version):
        lift = _upcasters.get((event_type, version))
        if lift is None:
            return None
        payload = lift(payload)
    return payload


def payload_class(event_type: str, version: int) -> type[EventPayload]:
    try:
        return _registry[(event_type, version)]
    except KeyError:
        raise UnknownEventType(f"{event_type} v{version}") from None


def registered_event_types() -> dict[tuple[str, int], type[EventPayload]]:
    return dict(_registry)


class EventEnvelope(BaseModel):
    """What goes on the wire. `key` is the aggregate id; it picks the partition."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    type: str
    version: int
    occurred_at: datetime
    producer: str
    key: str
    correlation_id: str | None = None
    # The W3C trace context (traceparent, tracestate) of the work that wrote the event; the
    # outbox relay sends it as the message's headers, so its consumers continue that trace.
    trace_context: dict[str, str] = Field(default_factory=dict)
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        producer: str,
        key: str,
        occurred_at: datetime | None = None,
        correlation_id: str | None = None,
        trace_context: dict[str, str] | None = None,
    ) -> "EventEnvelope":
        return cls(
            type=payload.event_type,
            version=payload.event_version,
            occurred_at=occurred_at or datetime.now(UTC),
            producer=producer,
            key=key,
            correlation_id=correlation_id,
            trace_context=trace_context or {},
            payload=payload.model_dump(mode="json"),
        )

    def parse_payload(self) -> EventPayload:
        """The payload as its registered model; raises UnknownEventType or a ValidationError."""
        return payload_class(self.type, self.version).model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "EventEnvelope":
        return cls.model_validate(json.loads(raw))


def topic_for(producer: str) -> str:
    """One topic per producing service."""
    return f"{producer}.events"


def dead_letter_topic_for(consumer_name: str) -> str:
    """Poison messages of one consumer, kept apart from those of every other consumer."""
    return f"{consumer_name}.dlq"
