"""Forwarding a client's request to the service that owns it, and its answer back."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from gateway.authorization.policy import authorize
from gateway.identity.authenticator import Authenticator
from gateway.proxy.routes import PUBLIC_PREFIX, owner_of
from shared.auth import INTERNAL_IDENTITY_HEADER, Identity
from shared.errors import BadGateway, GatewayTimeout, NotFound, PayloadTooLarge
from shared.http_client import service_client

logger = logging.getLogger(__name__)

# Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1).
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

# Never passed on from the client: the gateway alone vouches for identity, and the access
# token stays at the door.
STRIPPED_REQUEST_HEADERS = HOP_BY_HOP_HEADERS | {
    "authorization",
    INTERNAL_IDENTITY_HEADER.lower(),
    "x-forwarded-for",
    "x-forwarded-proto",
}


@dataclass(frozen=True)
class ProxyPolicy:
    authenticator: Authenticator
    max_body_bytes: int


@dataclass
class Upstreams:
    """One pooled keep-alive client per service."""

    clients: dict[str, httpx.AsyncClient]

    @classmethod
    def open(cls, urls: dict[str, str], *, timeout_seconds: float) -> "Upstreams":
        return cls({name: service_client(base_url=url, timeout_seconds=timeout_seconds) for name, url in urls.items()})

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def _forwarded_headers(request: Request, identity: Identity | None, policy: ProxyPolicy) -> list[tuple[str, str]]:
    headers = [(name, value) for name, value in request.headers.items() if name.lower() not in STRIPPED_REQUEST_HEADERS]
    client_host = request.client.host if request.client else ""
    prior = request.headers.get("x-forwarded-for")
    if identity is not None:
        headers.append(policy.authenticator.identity_header(identity))
    headers.append(("x-forwarded-for", f"{prior}, {client_host}" if prior else client_host))
    headers.append(("x-forwarded-proto", request.url.scheme))
    return headers


async def _read_body(request: Request, *, limit: int) -> bytes:
    """The whole body, refusing it as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is over {limit} bytes.", details={"limit_bytes": limit})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is over {limit} bytes.", details={"limit_bytes": limit})
    return bytes(body)


def _as_sent(request: Request) -> str:
    """The path below /api/v1 as the client sent it, still percent-encoded, so the service
    decodes exactly what the gateway routed (an encoded `/` or control character included)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    if not path.startswith(PUBLIC_PREFIX + "/"):
        raise NotFound(f"No route for {request.method} {request.url.path}")
    return path[len(PUBLIC_PREFIX) :]


async def forward(request: Request, upstreams: Upstreams, policy: ProxyPolicy) -> StreamingResponse:
    """Send the request to the owning service, with the caller's identity signed for it, and
    stream its response back unchanged."""
    upstream = owner_of(request.url.path)
    if upstream is None:
        raise NotFound(f"No route for {request.method} {request.url.path}")
    identity = await policy.authenticator.identify(request)
    authorize(request.method, upstream.path, identity)
    client = upstreams.clients[upstream.service]
    body = await _read_body(request, limit=policy.max_body_bytes)
    outgoing = client.build_request(
        request.method,
        _as_sent(request),
        params=request.url.query,
        headers=_forwarded_headers(request, identity, policy),
        content=body,
    )
    try:
        response = await client.send(outgoing, stream=True)
    except httpx.TimeoutException:
        raise GatewayTimeout(f"The {upstream.service} service did not answer in time.") from None
    except httpx.TransportError as error:
        logger.warning("%s %s: %s unreachable: %r", request.method, upstream.path, upstream.service, error)
        raise BadGateway(f"The {upstream.service} service is unavailable.") from None

    headers = {name: value for name, value in response.headers.items() if name.lower() not in HOP_BY_HOP_HEADERS}
    return StreamingResponse(
        _raw_chunks(response),
        status_code=response.status_code,
        headers=headers,
        background=BackgroundTask(response.aclose),
    )


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    # Raw bytes: a compressed body stays compressed, matching the forwarded content-encoding.
    async for chunk in response.aiter_raw():
        yield chunk
