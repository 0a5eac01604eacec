"""Forwarding a client's request to the service that owns it, and its answer back.

- One pooled keep-alive HTTP/1.1 client per service, and one circuit breaker per service
  (breaker.py): an open circuit is 503 with `Retry-After` at once, without calling the service.
- A timeout per route (timeouts.py): no answer in time is 504; a service that cannot be reached
  is 502.
- Idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are tried again, a bounded number of
  times with backoff, after a connect error (the request never left) or a 503 (the service
  said to). Nothing else is retried: a timeout or a broken connection may come after the
  service started on the request, and a POST or PATCH may not run twice.
- The caller's identity goes on signed by the gateway (never the token, never a client's own
  identity header); the request and correlation ids the gateway validated go on (the shared
  HTTP client adds them) and come back; the W3C trace goes on with the gateway as the parent
  span (tracing.py).
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection, Request
from starlette.responses import StreamingResponse

from gateway.authorization.policy import authorize
from gateway.identity.authenticator import Authenticator
from gateway.proxy.breaker import CircuitBreaker, CircuitOpen
from gateway.proxy.caller import identify_caller
from gateway.proxy.forwarding import client_of
from gateway.proxy.metrics import UpstreamMetrics
from gateway.proxy.routes import PUBLIC_PREFIX, Upstream, owner_of
from gateway.proxy.timeouts import RouteTimeouts
from gateway.proxy.tracing import TRACEPARENT_HEADER, TRACESTATE_HEADER, trace_headers
from shared.auth import INTERNAL_IDENTITY_HEADER
from shared.clock import Clock
from shared.errors import (
    BadGateway,
    GatewayTimeout,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from shared.http_client import service_client
from shared.identity import Identity
from shared.requests import CORRELATION_ID_HEADER, REQUEST_ID_HEADER

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
# token stays at the door; the ids and the trace are the gateway's own (validated, or new).
STRIPPED_REQUEST_HEADERS = HOP_BY_HOP_HEADERS | {
    "authorization",
    INTERNAL_IDENTITY_HEADER.lower(),
    "x-forwarded-for",
    "x-forwarded-proto",
    REQUEST_ID_HEADER.lower(),
    CORRELATION_ID_HEADER.lower(),
    TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
}

# A WebSocket handshake's own headers (key, version, extensions, subprotocols) belong to one
# connection: the gateway makes its own to the service.
WEBSOCKET_HANDSHAKE_HEADERS = "sec-websocket-"

# The gateway's own server sets these on its answer.
STRIPPED_RESPONSE_HEADERS = HOP_BY_HOP_HEADERS | {"date", "server"}

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_BACKOFF_SECONDS = 0.05
# A 503 that asks for a longer wait than this goes back to the client rather than being retried.
MAX_RETRY_WAIT_SECONDS = 1.0
# Waiting for a free pooled connection is queueing here, not a slow service.
POOL_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 2.0


Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ProxyPolicy:
    max_body_bytes: int
    timeouts: RouteTimeouts
    retries: int
    idle_websocket_seconds: float
    # The pause between tries; injectable, so tests neither wait nor race the retry.
    sleep: Sleep = field(default=asyncio.sleep)


@dataclass
class Upstreams:
    """One pooled keep-alive client and one circuit breaker per service, by service name."""

    urls: dict[str, str]
    clients: dict[str, httpx.AsyncClient]
    breakers: dict[str, CircuitBreaker]
    metrics: UpstreamMetrics

    @classmethod
    def open(
        cls,
        urls: dict[str, str],
        *,
        timeout_seconds: float,
        failure_threshold: int,
        cooldown: timedelta,
        clock: Clock,
        metrics: UpstreamMetrics,
    ) -> "Upstreams":
        breakers = {
            name: CircuitBreaker(name, failure_threshold=failure_threshold, cooldown=cooldown, clock=clock)
            for name in urls
        }
        metrics.breakers.breakers = breakers
        return cls(
            urls=dict(urls),
            clients={name: service_client(base_url=url, timeout_seconds=timeout_seconds) for name, url in urls.items()},
            breakers=breakers,
            metrics=metrics,
        )

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def circuit_open_error(service: str, circuit: CircuitOpen) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The {service} service is unavailable; try again shortly.",
        details={"service": service, "retry_after_seconds": circuit.retry_after_seconds},
        headers={"Retry-After": str(circuit.retry_after_seconds)},
    )


def forwarded_headers(connection: HTTPConnection, identity: Identity | None, *, service: str) -> list[tuple[str, str]]:
    """The client's headers less what the gateway alone may say, and what it says: the
    identity signed for `service`, the forwarding chain and the trace."""
    headers = [
        (name, value)
        for name, value in connection.headers.items()
        if name.lower() not in STRIPPED_REQUEST_HEADERS and not name.lower().startswith(WEBSOCKET_HANDSHAKE_HEADERS)
    ]
    if identity is not None:
        authenticator: Authenticator = connection.app.state.authenticator
        headers.append(authenticator.identity_header(identity, audience=service))
    headers.append(("x-forwarded-for", ", ".join(client_of(connection).chain)))
    headers.append(("x-forwarded-proto", "https" if connection.url.scheme in ("https", "wss") else "http"))
    headers += trace_headers(connection.headers.get(TRACEPARENT_HEADER), connection.headers.get(TRACESTATE_HEADER))
    return headers


async def admitted_caller(connection: HTTPConnection, upstream: Upstream, method: str) -> Identity | None:
    """The caller, if the route policy lets them make this call (a bad credential is 401)."""
    identity = await identify_caller(connection)
    authorize(method, upstream.path, identity)
    return identity


def routed(connection: HTTPConnection, method: str) -> Upstream:
    upstream = owner_of(connection.url.path)
    if upstream is None:
        raise NotFound(f"No route for {method} {connection.url.path}")
    return upstream


def path_as_sent(connection: HTTPConnection) -> str:
    """The path below /api/v1 as the client sent it, still percent-encoded, so the service
    decodes exactly what the gateway routed (an encoded control character included)."""
    raw: bytes = connection.scope.get("raw_path") or connection.url.path.encode()
    path = raw.decode("latin-1")
    if not path.startswith(PUBLIC_PREFIX + "/"):
        raise NotFound(f"No route for {connection.url.path}")
    return path[len(PUBLIC_PREFIX) :]


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


def _backoff(retry: int) -> float:
    # Jittered, so the gateway's processes do not come back at the same instant.
    ceiling: float = min(RETRY_BACKOFF_SECONDS * 2**retry, MAX_RETRY_WAIT_SECONDS)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311


def _wait_before_retrying(response: httpx.Response, retry: int) -> float | None:
    """How long to wait before trying a 503 again; None when it asks for longer than we wait."""
    backoff = _backoff(retry)
    retry_after = response.headers.get("retry-after")
    if retry_after is None:
        return backoff
    if not retry_after.isdigit() or int(retry_after) > MAX_RETRY_WAIT_SECONDS:
        return None
    return max(backoff, float(retry_after))


async def _send_once(
    client: httpx.AsyncClient, request: httpx.Request, breaker: CircuitBreaker, metrics: UpstreamMetrics
) -> httpx.Response:
    with breaker.call() as call:
        started = time.perf_counter()
        try:
            response = await client.send(request, stream=True)
        except httpx.PoolTimeout:
            # The gateway's own queue for a connection: no verdict on the service.
            raise
        except httpx.TransportError as error:
            call.failed()
            status = 504 if isinstance(error, httpx.TimeoutException) else 502
            metrics.record(breaker.name, request.method, status, time.perf_counter() - started)
            raise
        metrics.record(breaker.name, request.method, response.status_code, time.perf_counter() - started)
        if response.status_code == 503:
            call.failed()
        else:
            call.succeeded()
        return response


async def _send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    breaker: CircuitBreaker,
    metrics: UpstreamMetrics,
    policy: ProxyPolicy,
    upstream: Upstream,
) -> httpx.Response:
    service = upstream.service
    retries = policy.retries if request.method in IDEMPOTENT_METHODS else 0
    retry = 0
    while True:
        try:
            response = await _send_once(client, request, breaker, metrics)
        except CircuitOpen as circuit:
            raise circuit_open_error(service, circuit) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            if retry < retries:
                await policy.sleep(_backoff(retry))
                retry += 1
                continue
            logger.warning("%s %s: %s unreachable: %r", request.method, request.url.path, service, error)
            raise BadGateway(f"The {service} service is unavailable.") from None
        except httpx.PoolTimeout:
            raise ServiceUnavailable("The gateway is too busy just now; try again shortly.") from None
        except httpx.TimeoutException:
            seconds = policy.timeouts.for_route(request.method, upstream.path)
            raise GatewayTimeout(
                f"The {service} service did not answer within {seconds:g}s.",
                details={"service": service, "timeout_seconds": seconds},
            ) from None
        except httpx.TransportError as error:
            logger.warning("%s %s: %s failed: %r", request.method, request.url.path, service, error)
            raise BadGateway(f"The {service} service is unavailable.") from None
        if response.status_code == 503 and retry < retries:
            wait = _wait_before_retrying(response, retry)
            if wait is not None:
                await response.aclose()
                await policy.sleep(wait)
                retry += 1
                continue
        return response


async def forward(request: Request, upstreams: Upstreams, policy: ProxyPolicy) -> StreamingResponse:
    """Send the request to the owning service, with the caller's identity signed for it, and
    stream its response back unchanged."""
    upstream = routed(request, request.method)
    identity = await admitted_caller(request, upstream, request.method)
    client = upstreams.clients[upstream.service]
    body = await _read_body(request, limit=policy.max_body_bytes)
    seconds = policy.timeouts.for_route(request.method, upstream.path)
    outgoing = client.build_request(
        request.method,
        path_as_sent(request),
        params=request.url.query,
        headers=forwarded_headers(request, identity, service=upstream.service),
        content=body,
        timeout=httpx.Timeout(
            seconds, connect=min(seconds, CONNECT_TIMEOUT_SECONDS), pool=max(seconds, POOL_TIMEOUT_SECONDS)
        ),
    )
    response = await _send(client, outgoing, upstreams.breakers[upstream.service], upstreams.metrics, policy, upstream)
    headers = {name: value for name, value in response.headers.items() if name.lower() not in STRIPPED_RESPONSE_HEADERS}
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
