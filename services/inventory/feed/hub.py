"""Fan-out of availability changes to this process's WebSocket subscribers.

One Redis pub/sub connection per process subscribes to the channels of the listings someone
here is watching; each message goes to every local subscriber of that listing. Changes made on
any inventory process reach subscribers on all of them."""

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.inventory.feed.publisher import channel

logger = logging.getLogger(__name__)

Subscriber = asyncio.Queue[dict[str, Any]]
QUEUE_LIMIT = 1000
RECONNECT_PAUSE_SECONDS = 0.1
MAX_RECONNECT_PAUSE_SECONDS = 2.0


class AvailabilityHub:
    def __init__(self, redis: Redis) -> None:
        self._pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def subscribe(self, listing_id: str) -> Subscriber:
        queue: Subscriber = asyncio.Queue(maxsize=QUEUE_LIMIT)
        async with self._lock:
            if not self._subscribers[listing_id]:
                await self._pubsub.subscribe(channel(listing_id))
            self._subscribers[listing_id].add(queue)
        return queue

    async def unsubscribe(self, listing_id: str, queue: Subscriber) -> None:
        async with self._lock:
            self._subscribers[listing_id].discard(queue)
            if not self._subscribers[listing_id]:
                del self._subscribers[listing_id]
                await self._pubsub.unsubscribe(channel(listing_id))

    async def run(self) -> None:
        """Deliver messages until cancelled. When Redis goes away, keep trying: the pub/sub
        connection comes back subscribed to the same channels."""
        pause = RECONNECT_PAUSE_SECONDS
        try:
            while True:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                try:
                    message = await self._pubsub.get_message(timeout=1.0)
                except (RedisConnectionError, RedisTimeoutError) as error:
                    logger.warning("availability feed lost Redis, retrying in %.1fs: %r", pause, error)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, MAX_RECONNECT_PAUSE_SECONDS)
                    continue
                pause = RECONNECT_PAUSE_SECONDS
                if message is None or message["type"] != "message":
                    continue
                listing_id = message["channel"].decode().split(":", 1)[1]
                payload = json.loads(message["data"])
                for queue in list(self._subscribers.get(listing_id, ())):
                    # A subscriber too slow to keep up loses its oldest news, not everyone's.
                    if queue.full():
                        with contextlib.suppress(asyncio.QueueEmpty):
                            queue.get_nowait()
                    queue.put_nowait(payload)
        finally:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
