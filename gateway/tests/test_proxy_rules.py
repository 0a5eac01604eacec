"""Pure rules of the proxy: the circuit breaker's states, the trace it passes on, and how long
each route may take."""

import re
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.proxy.breaker import BreakerState, CircuitBreaker, CircuitOpen
from gateway.proxy.timeouts import Patience, RouteTimeouts, patience_for
from gateway.proxy.tracing import child_traceparent, parse_traceparent, trace_headers
from shared.clock import FrozenClock

COOLDOWN = timedelta(seconds=10)


def _breaker(clock: FrozenClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker("inventory", failure_threshold=threshold, cooldown=COOLDOWN, clock=clock)


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state


def _fail(breaker: CircuitBreaker) -> None:
    with breaker.call() as call:
        call.failed()


def _succeed(breaker: CircuitBreaker) -> None:
    with breaker.call() as call:
        call.succeeded()


def test_the_circuit_opens_after_the_threshold_of_failures_in_a_row_only() -> None:
    breaker = _breaker(FrozenClock(datetime.now(UTC)))
    _fail(breaker)
    _fail(breaker)
    _succeed(breaker)
    _fail(breaker)
    _fail(breaker)
    assert _state(breaker) is BreakerState.CLOSED, "a success starts the count again"
    _fail(breaker)
    assert _state(breaker) is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused, breaker.call():
        pass
    assert refused.value.retry_after_seconds == 10


def test_after_the_cooldown_one_probe_goes_through_and_decides() -> None:
    clock = FrozenClock(datetime.now(UTC))
    breaker = _breaker(clock, threshold=1)
    _fail(breaker)
    clock.advance(COOLDOWN - timedelta(seconds=4))
    with pytest.raises(CircuitOpen) as refused, breaker.call():
        pass
    assert refused.value.retry_after_seconds == 4

    clock.advance(timedelta(seconds=4))
    assert _state(breaker) is BreakerState.HALF_OPEN
    with breaker.call() as probe:
        with pytest.raises(CircuitOpen), breaker.call():
            pass  # only one probe at a time
        probe.failed()
    assert _state(breaker) is BreakerState.OPEN, "a failed probe opens the circuit for another cool-down"

    clock.advance(COOLDOWN)
    _succeed(breaker)
    assert _state(breaker) is BreakerState.CLOSED
    _succeed(breaker)


def test_a_probe_that_ends_without_a_verdict_lets_the_next_one_through() -> None:
    clock = FrozenClock(datetime.now(UTC))
    breaker = _breaker(clock, threshold=1)
    _fail(breaker)
    clock.advance(COOLDOWN)
    with pytest.raises(RuntimeError), breaker.call():
        raise RuntimeError("the client went away")
    assert _state(breaker) is BreakerState.HALF_OPEN
    _succeed(breaker)
    assert _state(breaker) is BreakerState.CLOSED


def test_a_call_admitted_before_the_circuit_opened_does_not_take_the_probes_turn() -> None:
    clock = FrozenClock(datetime.now(UTC))
    breaker = _breaker(clock, threshold=1)
    with ExitStack() as slow:
        slow.enter_context(breaker.call())
        _fail(breaker)
        clock.advance(COOLDOWN)
        with breaker.call() as probe:
            slow.close()
            with pytest.raises(CircuitOpen), breaker.call():
                pass
            probe.succeeded()
    assert _state(breaker) is BreakerState.CLOSED


@given(
    trace_id=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).filter(lambda value: set(value) != {"0"}),
    parent_id=st.text(alphabet="0123456789abcdef", min_size=16, max_size=16).filter(lambda value: set(value) != {"0"}),
    flags=st.sampled_from(["00", "01"]),
)
def test_the_callers_trace_id_and_flags_go_on_under_a_new_parent(trace_id: str, parent_id: str, flags: str) -> None:
    incoming = f"00-{trace_id}-{parent_id}-{flags}"
    outgoing = child_traceparent(incoming)
    version, kept_trace, new_parent, kept_flags = outgoing.split("-")
    assert (version, kept_trace, kept_flags) == ("00", trace_id, flags)
    assert new_parent != parent_id
    assert parse_traceparent(outgoing) == (trace_id, flags)


@pytest.mark.parametrize(
    "invalid",
    [
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ],
)
def test_an_invalid_traceparent_starts_a_new_trace_and_drops_its_tracestate(invalid: str | None) -> None:
    assert parse_traceparent(invalid) is None
    headers = dict(trace_headers(invalid, "vendor=1"))
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", headers["traceparent"])
    assert "tracestate" not in headers


def test_a_later_version_is_read_for_the_fields_this_one_knows() -> None:
    later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
    assert parse_traceparent(later) == ("4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert dict(trace_headers(later, "vendor=1"))["tracestate"] == "vendor=1"


@pytest.mark.parametrize(
    ("method", "path", "patience"),
    [
        ("POST", "/bookings", Patience.SLOW),
        ("PATCH", "/bookings/b-1", Patience.SLOW),
        ("POST", "/bookings/b-1/cancel", Patience.SLOW),
        ("POST", "/carts/c-1/checkout", Patience.SLOW),
        ("POST", "/trips/t-1/checkout", Patience.SLOW),
        ("POST", "/expert-handoffs/h-1/book-on-behalf", Patience.SLOW),
        ("GET", "/payments/methods", Patience.SLOW),
        ("POST", "/payments/webhooks/stripe", Patience.SLOW),
        ("GET", "/bookings/b-1", Patience.READ),
        ("HEAD", "/listings", Patience.READ),
        ("GET", "/analytics/revenue", Patience.DEFAULT),
        ("POST", "/holds", Patience.DEFAULT),
        ("POST", "/carts/c-1/items", Patience.DEFAULT),
        ("GET", "/paymentsx", Patience.READ),
    ],
)
def test_each_route_waits_as_long_as_what_it_does_takes(method: str, path: str, patience: Patience) -> None:
    assert patience_for(method, path) is patience
    timeouts = RouteTimeouts(read=1, default=2, slow=3)
    assert timeouts.for_route(method, path) == {Patience.READ: 1, Patience.DEFAULT: 2, Patience.SLOW: 3}[patience]
