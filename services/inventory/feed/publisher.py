"""Announcing a change of a slot's seats: to the live feed's subscribers on every inventory
process (Redis pub/sub) and to the calendar cache (invalidated)."""

from datetime import datetime
from uuid import UUID

from redis.asyncio import Redis

from services.inventory.calendar.cache import calendar_changed
from shared.pubsub import publish


def channel(listing_id: UUID | str) -> str:
    return f"availability:{listing_id}"


async def slot_changed(
    redis: Redis,
    *,
    listing_id: UUID,
    slot_id: UUID,
    available: int,
    capacity: int,
    change: str,
    seats: int,
    at: datetime,
) -> None:
    message = {
        "type": "availability.changed",
        "listing_id": str(listing_id),
        "slot_id": str(slot_id),
        "available": max(available, 0),
        "capacity": capacity,
        "at": at.isoformat(),
        # Only the listing's owner sees what changed; everyone else sees the counts.
        "change": change,
        "seats": seats,
    }
    await calendar_changed(redis, listing_id)
    await publish(redis, channel(listing_id), message)
