"""Live feeds across replicas: what one process publishes on a Redis channel reaches the
WebSocket subscribers of that channel on every process.

One Redis pub/sub connection per process (and feed) subscribes to the channels someone here is
watching; each message goes to every local subscriber of its channel. A subscriber too slow to
keep up loses its oldest messages, not everyone's. Pub/sub keeps nothing: a feed is for news
whose record is elsewhere (the database), which a client reads again after a reconnect.
"""

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

Subscriber = asyncio.Queue[dict[str, Any]]
QUEUE_LIMIT = 1000
RECONNECT_PAUSE_SECONDS = 0.1
MAX_RECONNECT_PAUSE_SECONDS = 2.0


async def publish(redis: Redis, channel: str, message: dict[str, Any]) -> None:
    await redis.publish(channel, json.dumps(message))


class PubSubHub:
    """This process's subscribers of a feed's channels, fed by one pub/sub connection."""

    def __init__(self, redis: Redis, *, name: str) -> None:
        self.name = name
        self._pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def subscribe(self, channel: str) -> Subscriber:
        queue: Subscriber = asyncio.Queue(maxsize=QUEUE_LIMIT)
        async with self._lock:
            if not self._subscribers[channel]:
                await self._pubsub.subscribe(channel)
            self._subscribers[channel].add(queue)
        return queue

    async def unsubscribe(self, channel: str, queue: Subscriber) -> None:
        async with self._lock:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]
                await self._pubsub.unsubscribe(channel)

    @contextlib.asynccontextmanager
    async def subscription(self, channel: str) -> AsyncIterator[Subscriber]:
        queue = await self.subscribe(channel)
        try:
            yield queue
        finally:
            await self.unsubscribe(channel, queue)

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
                    logger.warning("%s feed lost Redis, retrying in %.1fs: %r", self.name, pause, error)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, MAX_RECONNECT_PAUSE_SECONDS)
                    continue
                pause = RECONNECT_PAUSE_SECONDS
                if message is None or message["type"] != "message":
                    continue
                payload = json.loads(message["data"])
                for queue in list(self._subscribers.get(message["channel"].decode(), ())):
                    if queue.full():
                        with contextlib.suppress(asyncio.QueueEmpty):
                            queue.get_nowait()
                    queue.put_nowait(payload)
        finally:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["PubSubHub"]:
        """The hub delivering for as long as the context lasts (an app's lifespan)."""
        delivering = asyncio.create_task(self.run(), name=f"{self.name} feed")
        try:
            yield self
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering


def _as_it_is(message: dict[str, Any]) -> dict[str, Any]:
    return message


async def relay_to_websocket(
    websocket: WebSocket,
    queue: Subscriber,
    *,
    shape: Callable[[dict[str, Any]], dict[str, Any]] = _as_it_is,
) -> None:
    """Send each message of the subscription, as `shape` makes it for this client, to an
    accepted client until the client goes away (what it sends meanwhile is read and dropped)."""
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        while not closed.done():
            next_message = asyncio.create_task(queue.get())
            await asyncio.wait({next_message, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not next_message.done():
                next_message.cancel()
                break
            await websocket.send_json(shape(next_message.result()))
    except WebSocketDisconnect:
        pass
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await closed


async def _until_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
