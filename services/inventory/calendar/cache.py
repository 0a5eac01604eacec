"""Invalidation of cached calendars: a counter per listing (and one for all listings) is part
of every cache key, so bumping it makes the old entries unreachable; they expire on their own."""

from uuid import UUID

from redis.asyncio import Redis

GLOBAL = "all"


def version_key(scope: str) -> str:
    return f"calendar-version:{scope}"


async def calendar_changed(redis: Redis, listing_id: UUID | None) -> None:
    """Invalidate the cached calendars of a listing, or of every listing (None)."""
    await redis.incr(version_key(str(listing_id) if listing_id else GLOBAL))


async def cache_key(redis: Redis, listing_id: UUID, year: int, month: int) -> str:
    listing_version, global_version = await redis.mget(version_key(str(listing_id)), version_key(GLOBAL))
    return f"calendar:{listing_id}:{int(listing_version or 0)}:{int(global_version or 0)}:{year}-{month:02d}"
