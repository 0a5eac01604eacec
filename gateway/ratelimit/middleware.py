"""Every request under /api/v1, proxied or answered by the gateway itself, WebSocket handshakes
included, is counted against its rate class (classes.py) before anything else is done for it.
Its answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a refused
one is 429 `RATE_LIMITED` with `Retry-After` as well (a refused WebSocket handshake too: see
refusal.py).

It runs inside the platform's request-id middleware, so its refusals carry the request id."""

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy.caller import identify_caller
from gateway.proxy.forwarding import client_of
from gateway.proxy.refusal import refuse
from gateway.ratelimit.classes import class_name_of, is_limited
from gateway.ratelimit.service import RateLimiter
from shared.errors import AppError


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not is_limited(scope["path"]):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        limiter: RateLimiter = connection.app.state.rate_limiter
        try:
            identity = await identify_caller(connection)
        except AppError:
            # A bad credential is answered by whoever handles the request; until then the
            # caller is counted by address alone.
            identity = None
        address = client_of(connection).address
        try:
            decision = await limiter.check(
                class_name_of(scope.get("method", "GET"), scope["path"]),
                address=address,
                user_id=identity.user_id if identity is not None else None,
            )
        except AppError as unavailable:
            await refuse(scope, receive, send, unavailable)
            return
        if not decision.allowed:
            await refuse(scope, receive, send, decision.refusal())
            return
        headers = decision.headers()

        async def send_with_rate_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_rate_headers)
