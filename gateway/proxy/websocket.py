"""WebSockets through the gateway: `/api/v1/ws/availability` to inventory's availability feed,
`/api/v1/ws/notifications` to notification's, and any other path to its owner the same way.

The handshake is checked like any request (rate limit, credential, route policy) and answered
with the api.md error body when refused. The access token comes as `Authorization: Bearer` or,
from a browser, as the subprotocol pair `bearer, <token>` (caller.py). The service gets the
signed identity, the request id, the trace and the forwarding chain, and the gateway accepts
the client only once the service has accepted the gateway. Then messages are relayed both ways
as they come, a close on either side is passed on with its code and reason, and a connection
with no message either way for `websocket_idle_seconds` is closed (1001, going away).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import EXTERNAL_CLOSE_CODES, CloseCode
from websockets.typing import Subprotocol

from gateway.proxy.breaker import CircuitOpen
from gateway.proxy.caller import (
    BEARER_SUBPROTOCOL,
    bearer_from_subprotocols,
    offered_subprotocols,
    passed_on_subprotocols,
)
from gateway.proxy.refusal import refuse
from gateway.proxy.service import (
    ProxyPolicy,
    Upstreams,
    admitted_caller,
    circuit_open_error,
    forwarded_headers,
    path_as_sent,
    routed,
)
from shared.context import correlation_id_var, request_id_var
from shared.errors import AppError, BadGateway, GatewayTimeout, default_error_code
from shared.requests import CORRELATION_ID_HEADER, REQUEST_ID_HEADER

logger = logging.getLogger(__name__)

IDLE_CLOSE_REASON = "idle"
# A close reason is at most 123 bytes on the wire.
MAX_CLOSE_REASON_BYTES = 123


def _sendable(code: int | None, *, otherwise: int) -> int:
    """A close code that may be sent on: 1005 and 1006 only describe what was received."""
    if code is not None and (code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000):
        return code
    return otherwise


def _reason(reason: str | None) -> str:
    return (reason or "").encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


def _upstream_url(base_url: str, path: str, query: str) -> str:
    scheme, rest = base_url.split("://", 1)
    url = f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}{path}"
    return f"{url}?{query}" if query else url


async def _open_upstream(websocket: WebSocket, upstreams: Upstreams, policy: ProxyPolicy) -> ClientConnection:
    """The service's side of the relay, once the handshake passed every check; raises an AppError
    to answer the client with otherwise."""
    upstream = routed(websocket, "GET")
    identity = await admitted_caller(websocket, upstream, "GET")
    headers = forwarded_headers(websocket, identity, service=upstream.service)
    ids = ((REQUEST_ID_HEADER, request_id_var.get()), (CORRELATION_ID_HEADER, correlation_id_var.get()))
    headers += [(name, value) for name, value in ids if value]
    offered = passed_on_subprotocols(offered_subprotocols(websocket.scope))
    seconds = policy.timeouts.for_route("GET", upstream.path)
    try:
        with upstreams.breakers[upstream.service].call() as call:
            try:
                connection = await connect(
                    _upstream_url(upstreams.urls[upstream.service], path_as_sent(websocket), websocket.url.query),
                    additional_headers=headers,
                    subprotocols=[Subprotocol(protocol) for protocol in offered] or None,
                    open_timeout=seconds,
                    proxy=None,
                )
            except InvalidStatus:
                # The service answered, and refused: it is up.
                call.succeeded()
                raise
            except (OSError, TimeoutError, InvalidHandshake):
                call.failed()
                raise
            call.succeeded()
            return connection
    except CircuitOpen as circuit:
        raise circuit_open_error(upstream.service, circuit) from None
    except InvalidStatus as refused:
        status = refused.response.status_code
        raise AppError(
            f"The {upstream.service} service refused the connection.",
            status_code=status,
            error_code=default_error_code(status),
        ) from None
    except TimeoutError:
        raise GatewayTimeout(
            f"The {upstream.service} service did not answer within {seconds:g}s.",
            details={"service": upstream.service, "timeout_seconds": seconds},
        ) from None
    except (OSError, InvalidHandshake) as error:
        logger.warning("WS %s: %s unreachable: %r", upstream.path, upstream.service, error)
        raise BadGateway(f"The {upstream.service} service is unavailable.") from None


async def relay(websocket: WebSocket, upstreams: Upstreams, policy: ProxyPolicy) -> None:
    try:
        upstream = await _open_upstream(websocket, upstreams, policy)
    except AppError as error:
        await refuse(websocket.scope, websocket.receive, websocket.send, error)
        return
    async with upstream:
        chosen = upstream.subprotocol
        if chosen is None and bearer_from_subprotocols(offered_subprotocols(websocket.scope)) is not None:
            chosen = Subprotocol(BEARER_SUBPROTOCOL)
        await websocket.accept(subprotocol=chosen)
        await _pump(websocket, upstream, idle_seconds=policy.idle_websocket_seconds)


async def _pump(websocket: WebSocket, upstream: ClientConnection, *, idle_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(idle_seconds) as idle:

            def active() -> None:
                idle.reschedule(loop.time() + idle_seconds)

            directions = {
                asyncio.create_task(_client_to_upstream(websocket, upstream, active)),
                asyncio.create_task(_upstream_to_client(websocket, upstream, active)),
            }
            try:
                await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for direction in directions:
                    direction.cancel()
                await asyncio.gather(*directions, return_exceptions=True)
    except TimeoutError:
        await upstream.close(code=CloseCode.GOING_AWAY, reason=IDLE_CLOSE_REASON)
        await _close_client(websocket, CloseCode.GOING_AWAY, IDLE_CLOSE_REASON)
        return
    # Whichever side ended it, the service's close (its own, or the client's passed on) is
    # what the client hears, if it is still there; a service that vanished is 1014.
    await upstream.close()
    await _close_client(
        websocket, _sendable(upstream.close_code, otherwise=CloseCode.BAD_GATEWAY), _reason(upstream.close_reason)
    )


async def _client_to_upstream(websocket: WebSocket, upstream: ClientConnection, active: Callable[[], None]) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code = _sendable(message.get("code"), otherwise=CloseCode.GOING_AWAY)
            await upstream.close(code=code, reason=_reason(message.get("reason")))
            return
        active()
        text = message.get("text")
        await upstream.send(text if text is not None else message["bytes"])


async def _upstream_to_client(websocket: WebSocket, upstream: ClientConnection, active: Callable[[], None]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in upstream:
            active()
            if isinstance(message, str):
                await websocket.send_text(message)
            else:
                await websocket.send_bytes(message)


async def _close_client(websocket: WebSocket, code: int, reason: str) -> None:
    """Close the client's side unless it is closed already (by it, or by the other direction)."""
    if WebSocketState.DISCONNECTED in (websocket.application_state, websocket.client_state):
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close(code=code, reason=reason)
