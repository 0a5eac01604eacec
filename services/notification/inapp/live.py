"""The live in-app feed: a user's new notifications pushed to their WebSocket subscribers on
every notification replica (Redis pub/sub on a channel per user). A push that is missed
loses nothing: the in-app list is the record, read again after a reconnect."""

from uuid import UUID

from redis.asyncio import Redis

from services.notification.inapp.schemas import NotificationOut, NotificationPushed
from shared.pubsub import publish


def channel(user_id: UUID) -> str:
    return f"notifications:{user_id}"


async def push(redis: Redis, *, user_id: UUID, notification: NotificationOut) -> None:
    await publish(redis, channel(user_id), NotificationPushed(notification=notification).model_dump(mode="json"))
