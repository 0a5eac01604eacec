"""What every answer of the gateway carries for browsers: CORS for the configured origins (the
Next.js app), and security headers.

The API answers JSON, so its Content-Security-Policy allows nothing at all. Its HTML pages are
`/docs` (Swagger UI), which loads its script and stylesheet from the CDN FastAPI names and runs
one inline script, and the page of an email's unsubscribe link, whose button posts a form back
to the API: their policy allows those assets, that script by its hash (computed from the page
itself, so no inline script in general), and forms posted to the API's own origin.

CORS and these headers wrap everything else, so even an error the platform's own middleware
answers (a 500, a 503) reaches a browser readable and with the headers."""

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_ASSET_ORIGIN = "https://cdn.jsdelivr.net"
DOCS_ICON_ORIGIN = "https://fastapi.tiangolo.com"
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

# What a browser may send and read across origins.
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-ID",
    "X-Correlation-ID",
    "traceparent",
    "tracestate",
)
CORS_EXPOSED_HEADERS = (
    "X-Request-ID",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
CORS_MAX_AGE_SECONDS = 600

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def html_content_security_policy(page: bytes) -> str:
    """The policy of an HTML page: the docs' assets, and its own inline scripts by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page.decode("utf-8", errors="replace"))
    )
    return (
        f"default-src 'none'; script-src {DOCS_ASSET_ORIGIN} {hashes}; "
        f"style-src {DOCS_ASSET_ORIGIN} 'unsafe-inline'; img-src 'self' data: {DOCS_ICON_ORIGIN}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        held_start: Message | None = None
        held_body = bytearray()

        async def send_with_headers(message: Message) -> None:
            nonlocal held_start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if secure:
                    headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
                if headers.get("content-type", "").startswith("text/html"):
                    # The policy depends on the page: hold the start until the body is here.
                    held_start = message
                    return
                headers["Content-Security-Policy"] = API_CONTENT_SECURITY_POLICY
            elif held_start is not None and message["type"] == "http.response.body":
                held_body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                MutableHeaders(scope=held_start)["Content-Security-Policy"] = html_content_security_policy(
                    bytes(held_body)
                )
                await send(held_start)
                message = {"type": "http.response.body", "body": bytes(held_body)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_edge_middleware(app: FastAPI, *, cors_origins: list[str]) -> None:
    """CORS, then the security headers, around everything else the app does."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age=CORS_MAX_AGE_SECONDS,
    )
    app.add_middleware(SecurityHeadersMiddleware)
