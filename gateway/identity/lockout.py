"""Locking an account's sign-in after repeated failures, on top of the limit per address.

Every attempt counts as a failure until it succeeds, and is counted before the password is
checked (one atomic script), so concurrent guesses cannot outrun the count: at most `limit`
passwords are tried per account in any `window`. A success clears the count. Attempts are
counted by email whether or not an account has it, so a lock says nothing about whether the
email exists. The count is in Redis (every gateway process shares it) under a hash of the
email, scored by the injected clock."""

import hashlib
import math
import uuid
from datetime import datetime, timedelta

from redis.asyncio import Redis

from shared.errors import AppError

# KEYS[1]: the account's attempts, scored by time (ms). ARGV: now, window (ms), limit, attempt id.
# Returns 0 when the attempt may go ahead, else the ms until the account unlocks.
_BEGIN_ATTEMPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local unlocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return math.max(tonumber(unlocking[2]) + window - now, 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


class SignInLocked(AppError):
    status_code = 429
    error_code = "SIGN_IN_LOCKED"


class SignInLockout:
    def __init__(self, redis: Redis, *, limit: int, window: timedelta) -> None:
        self._redis = redis
        self._limit = limit
        self._window_ms = int(window.total_seconds() * 1000)
        self._begin = redis.register_script(_BEGIN_ATTEMPT)

    @staticmethod
    def _key(email: str) -> str:
        return f"identity:sign-in-attempts:{hashlib.sha256(email.lower().encode()).hexdigest()}"

    async def begin_attempt(self, email: str, *, now: datetime) -> None:
        """Count an attempt; 429 with `Retry-After` if the account is locked."""
        now_ms = int(now.timestamp() * 1000)
        wait_ms = int(
            await self._begin(keys=[self._key(email)], args=[now_ms, self._window_ms, self._limit, uuid.uuid4().hex])
        )
        if wait_ms > 0:
            retry_after = math.ceil(wait_ms / 1000)
            raise SignInLocked(
                "Too many failed sign-ins with this email; try again later.",
                details={"retry_after_seconds": retry_after},
                headers={"Retry-After": str(retry_after)},
            )

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._key(email))
