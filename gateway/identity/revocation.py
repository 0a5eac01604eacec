"""Access tokens refused before they expire: a signed-out token (its `jti`) and every token of
a signed-out or compromised session (its `sid`, the refresh token family). Kept in Redis, so
every gateway process refuses them, each entry only as long as such a token can live.

When Redis cannot be reached the check fails and the request is 503: a revoked token is
never let through for want of the list."""

import math
from datetime import datetime, timedelta
from uuid import UUID

from redis.asyncio import Redis

_REVOKED_JTI_KEY = "identity:revoked-token:{}"
_REVOKED_SESSION_KEY = "identity:revoked-session:{}"


def _seconds(duration: timedelta) -> int:
    return max(math.ceil(duration.total_seconds()), 1)


class RevocationList:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke_token(self, token_id: str, *, expires_at: datetime, now: datetime) -> None:
        await self._redis.set(_REVOKED_JTI_KEY.format(token_id), 1, ex=_seconds(expires_at - now))

    async def revoke_session(self, session_id: UUID, *, longest_token_life: timedelta) -> None:
        await self._redis.set(_REVOKED_SESSION_KEY.format(session_id), 1, ex=_seconds(longest_token_life))

    async def is_revoked(self, *, token_id: str, session_id: UUID | None = None) -> bool:
        keys = [_REVOKED_JTI_KEY.format(token_id)]
        if session_id is not None:
            keys.append(_REVOKED_SESSION_KEY.format(session_id))
        return int(await self._redis.exists(*keys)) > 0
