"""Rate limits kept in Redis, so every gateway process counts against the same budget."""

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.errors import AppError

# Counts a hit and starts the window on the first one, atomically.
_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('TTL', KEYS[1])}
"""


class RateLimited(AppError):
    status_code = 429
    error_code = "RATE_LIMITED"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


class FixedWindowLimiter:
    def __init__(self, redis: Redis, *, name: str, limit: int, window_seconds: int) -> None:
        self._redis = redis
        self._name = name
        self._limit = limit
        self._window = window_seconds
        self._script = redis.register_script(_FIXED_WINDOW)

    async def hit(self, subject: str) -> RateDecision:
        count, ttl = await self._script(keys=[f"ratelimit:{self._name}:{subject}"], args=[self._window])
        reset = int(ttl) if int(ttl) > 0 else self._window
        return RateDecision(
            allowed=int(count) <= self._limit,
            limit=self._limit,
            remaining=max(self._limit - int(count), 0),
            reset_seconds=reset,
        )

    async def check(self, subject: str) -> RateDecision:
        """Count a hit; raise 429 with the retry headers when over the limit."""
        decision = await self.hit(subject)
        if not decision.allowed:
            raise RateLimited(
                "Too many attempts; try again later.",
                details={"retry_after_seconds": decision.reset_seconds},
                headers=decision.headers(),
            )
        return decision
