"""Paths the gateway refuses before anything else looks at them.

The route policy, the rate classes and the owning service all read the path; a path with a
`.` or `..` segment, an empty one (`//`, a trailing `/`), or a separator inside a segment in
percent-encoded form (`%2F`, `%5C`, and `%2e%2e` as `..`) can mean one thing to the policy and
another to a server or client that normalises it on the way. Such a path is answered 400
`INVALID_PATH` in the api.md error body before the rate limit, the policy or the proxy sees
it, so what is authorised is exactly what is forwarded.
"""

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.proxy.refusal import refuse
from shared.errors import AppError

DOT_SEGMENTS = frozenset({".", ".."})
SEPARATORS = ("/", "\\")


def path_fault(raw_path: str) -> str | None:
    """Why the path as sent (still percent-encoded) is refused; None for a plain path."""
    if raw_path == "/":
        return None
    if not raw_path.startswith("/"):
        return "the path does not start with /"
    for segment in raw_path[1:].split("/"):
        decoded = unquote(segment)
        if segment == "":
            return "the path has an empty segment"
        if decoded in DOT_SEGMENTS:
            return f"the path has a {decoded!r} segment"
        if any(separator in decoded for separator in SEPARATORS):
            return "a segment of the path holds a path separator"
    return None


class PathCheckMiddleware:
    """Refuses every HTTP request and WebSocket handshake whose path `path_fault` faults."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw: bytes = scope.get("raw_path") or scope["path"].encode()
            fault = path_fault(raw.decode("latin-1"))
            if fault is not None:
                error = AppError(
                    f"This path cannot be served: {fault}. Send it in its plain form.",
                    error_code="INVALID_PATH",
                    details={"reason": fault},
                )
                await refuse(scope, receive, send, error)
                return
        await self.app(scope, receive, send)
