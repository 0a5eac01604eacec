"""A webhook receiver for tests: the README's verification recipe, word for word, and a local
HTTP endpoint on 127.0.0.1 that keeps what it is sent and answers what it is told to."""

import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web


def verify(secret: str, signature: str, body: bytes, now: float | None = None) -> bool:
    parts = dict(item.split("=", 1) for item in signature.split(","))
    timestamp = int(parts["t"])
    if abs((time.time() if now is None else now) - timestamp) > 300:
        return False  # older or newer than five minutes: a replay
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@dataclass(frozen=True)
class Received:
    webhook_id: str
    signature: str
    body: bytes
    # The status it answered with.
    answered: int


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # What it answers: 200 while up, e.g. 503 while "down".
    status: int = 200

    def accepted(self) -> list[Received]:
        """What it answered 2xx to, in the order it came."""
        return [one for one in self.received if 200 <= one.answered < 300]


@contextlib.asynccontextmanager
async def webhook_receiver(path: str = "/hooks") -> AsyncIterator[Receiver]:
    """An endpoint on a free port of 127.0.0.1."""
    receiver = Receiver(url="")

    async def receive(request: web.Request) -> web.Response:
        receiver.received.append(
            Received(
                webhook_id=request.headers.get("Webhook-Id", ""),
                signature=request.headers.get("Webhook-Signature", ""),
                body=await request.read(),
                answered=receiver.status,
            )
        )
        return web.Response(status=receiver.status)

    app = web.Application()
    app.router.add_post(path, receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
