"""A circuit breaker: after `failure_threshold` failures in a row a dependency is left alone for
`cooldown` (calls are refused at once, without reaching it), then one probe is let through;
its success closes the circuit, its failure opens it again for another cool-down.

One breaker per upstream per gateway process: each process learns on its own that a service is
down, which costs at most `failure_threshold` failed calls each. Time comes from the injected
clock, so tests move it instead of waiting."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum

from shared.clock import Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The dependency is being left alone; try again after `retry_after_seconds`."""

    def __init__(self, name: str, retry_after_seconds: int) -> None:
        super().__init__(f"{name}: circuit open for another {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class BreakerCall:
    """One admitted call; the caller says how it went. A call that ends without a verdict (the
    client went away, the gateway itself gave up) counts neither way."""

    def __init__(self, *, probe: bool) -> None:
        self.probe = probe
        self.ok: bool | None = None

    def succeeded(self) -> None:
        self.ok = True

    def failed(self) -> None:
        self.ok = False


class CircuitBreaker:
    def __init__(self, name: str, *, failure_threshold: int, cooldown: timedelta, clock: Clock) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: datetime | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.now() - self._opened_at < self._cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @contextmanager
    def call(self) -> Iterator[BreakerCall]:
        """Admit a call (raising `CircuitOpen` when it may not go ahead) and record its verdict."""
        call = self._admit()
        try:
            yield call
        finally:
            self._settle(call)

    def _admit(self) -> BreakerCall:
        state = self.state
        if state is BreakerState.CLOSED:
            return BreakerCall(probe=False)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return BreakerCall(probe=True)
        raise CircuitOpen(self.name, self._retry_after_seconds())

    def _retry_after_seconds(self) -> int:
        assert self._opened_at is not None
        left = (self._opened_at + self._cooldown - self._clock.now()).total_seconds()
        return max(math.ceil(left), 1)

    def _settle(self, call: BreakerCall) -> None:
        if call.probe:
            self._probing = False
        if call.ok is None:
            return
        if call.ok:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if call.probe or self._failures >= self._threshold:
            self._opened_at = self._clock.now()
