"""Rate limits kept in Redis by one atomic script, so every gateway process counts against the
same budget and concurrent requests cannot slip past it.

The algorithm is GCRA (the generic cell rate algorithm): each key holds one number, the
theoretical arrival time (TAT) of the next request. A limit of `n` per `window` spaces requests
an `interval` (window / n) apart and tolerates a burst of `n`: a request at `now` is allowed
when `max(TAT, now) + interval - now <= n * interval`, and then moves the TAT on by one
interval. A refused request changes nothing. Time is Redis's own (`TIME` inside the script),
so processes whose clocks differ still agree. All arithmetic is in whole microseconds, which a
Lua number holds exactly, so a burst of exactly `n` is allowed, never `n - 1` or `n + 1`.

The per-address and the per-user key of a request are checked in the same script: both must
allow it, and only then do both count it. The headers describe the tighter of the two.

When Redis cannot be reached (or answers too slowly: `rate_limit_redis_timeout_seconds`) the
limiter logs a warning and leaves Redis alone for a second (a circuit breaker), then tries it
again; the metric `gateway_rate_limit_unchecked_total` counts every request decided without
it. Meanwhile the classes that fail closed (sign-in, registration, refresh) are refused with
503 `DEPENDENCY_UNAVAILABLE` and `Retry-After`, and the others go ahead uncounted and without
`RateLimit-*` headers (gateway/ratelimit/classes.py says why).
"""

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.proxy.breaker import CircuitBreaker, CircuitOpen
from gateway.ratelimit.classes import RateClass, RateClassName
from shared.clock import Clock
from shared.errors import AppError

logger = logging.getLogger(__name__)

REDIS_RETRY_AFTER = timedelta(seconds=1)
_MICROSECONDS = 1_000_000

# KEYS: the request's keys. ARGV: per key, its interval and its burst tolerance (n * interval),
# in microseconds. Returns {allowed, index of the key that binds (1-based), remaining,
# microseconds until that key's budget is whole again, microseconds until a retry may pass}.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local allowed = 1
local binding, binding_remaining, binding_reset, binding_retry = 1, math.huge, 0, 0
local new_tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > tolerance then
    local retry = new_tat - tolerance - now
    if allowed == 1 or retry > binding_retry then
      binding, binding_remaining, binding_reset, binding_retry = i, 0, tat - now, retry
    end
    allowed = 0
  elseif allowed == 1 then
    new_tats[i] = new_tat
    local remaining = math.floor((tolerance - (new_tat - now)) / interval)
    if remaining < binding_remaining then
      binding, binding_remaining, binding_reset = i, remaining, new_tat - now
    end
  end
end
if allowed == 1 then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', math.ceil((new_tats[i] - now) / 1000))
  end
end
return {allowed, binding, binding_remaining, binding_reset, binding_retry}
"""


class RateLimited(AppError):
    status_code = 429
    error_code = "RATE_LIMITED"


class RateLimiterUnavailable(AppError):
    status_code = 503
    error_code = "DEPENDENCY_UNAVAILABLE"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after_seconds: int
    # False when Redis could not be asked and the class goes ahead uncounted: nothing to tell.
    counted: bool = True

    def headers(self) -> dict[str, str]:
        if not self.counted:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers

    def refusal(self) -> RateLimited:
        return RateLimited(
            "Too many requests; try again later.",
            details={"retry_after_seconds": self.retry_after_seconds},
            headers=self.headers(),
        )


@dataclass(frozen=True)
class _Budget:
    key: str
    limit: int
    window_seconds: int

    def script_arguments(self) -> tuple[int, int]:
        """The interval between requests and the burst tolerance, in whole microseconds; the
        tolerance is exactly `limit` intervals, so a burst of exactly `limit` passes."""
        interval = max(self.window_seconds * _MICROSECONDS // self.limit, 1)
        return interval, interval * self.limit


UNCOUNTED = RateDecision(allowed=True, limit=0, remaining=0, reset_seconds=0, retry_after_seconds=0, counted=False)


def _seconds(microseconds: int) -> int:
    return math.ceil(microseconds / _MICROSECONDS)


def connect_limiter_redis(url: str, *, timeout_seconds: float) -> Redis:
    """The limiter's own Redis client: a short timeout, and one immediate retry only when the
    connection was refused or dropped (a pooled connection Redis closed as it restarted)."""
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
    )


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        classes: dict[RateClassName, RateClass],
        clock: Clock,
        registry: CollectorRegistry,
    ) -> None:
        self.classes = classes
        self._redis = redis
        self._script = redis.register_script(_GCRA)
        # Redis is left alone for a moment after it failed, so an outage costs no request
        # more than one timeout.
        self._redis_breaker = CircuitBreaker(
            "rate-limit redis", failure_threshold=1, cooldown=REDIS_RETRY_AFTER, clock=clock
        )
        self._unchecked = Counter(
            "gateway_rate_limit_unchecked_total",
            "Requests decided without the rate limiter's Redis, by class and outcome.",
            ["route_class", "outcome"],
            registry=registry,
        )

    async def check(self, name: RateClassName, *, address: str, user_id: UUID | None) -> RateDecision:
        """Count the request against its class's budgets. When Redis cannot be reached, the
        class goes ahead uncounted or `RateLimiterUnavailable` is raised, by the class."""
        rate_class = self.classes[name]
        budgets = [_Budget(f"ratelimit:{name}:ip:{address}", rate_class.limit.per_ip, rate_class.limit.window_seconds)]
        if user_id is not None and rate_class.limit.per_user is not None:
            budgets.append(
                _Budget(f"ratelimit:{name}:user:{user_id}", rate_class.limit.per_user, rate_class.limit.window_seconds)
            )
        try:
            with self._redis_breaker.call() as call:
                try:
                    allowed, binding, remaining, reset_us, retry_us = await self._script(
                        keys=[budget.key for budget in budgets],
                        args=[value for budget in budgets for value in budget.script_arguments()],
                    )
                except RedisError as error:
                    call.failed()
                    logger.warning(
                        "rate limits unchecked for %ss: Redis unreachable (%r); sign-in, registration and refresh "
                        "are refused meanwhile, everything else goes ahead",
                        REDIS_RETRY_AFTER.total_seconds(),
                        error,
                    )
                    raise
                call.succeeded()
        except (RedisError, CircuitOpen):
            self._unchecked.labels(name, "allowed" if rate_class.fails_open else "refused").inc()
            if rate_class.fails_open:
                return UNCOUNTED
            raise RateLimiterUnavailable(
                "Rate limits cannot be checked just now; try again shortly.",
                details={"retry_after_seconds": 1},
                headers={"Retry-After": "1"},
            ) from None
        return RateDecision(
            allowed=bool(allowed),
            limit=budgets[int(binding) - 1].limit,
            remaining=int(remaining),
            reset_seconds=_seconds(int(reset_us)),
            retry_after_seconds=max(_seconds(int(retry_us)), 1),
        )
