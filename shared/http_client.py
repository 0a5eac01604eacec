"""HTTP calls between services: pooled, with timeouts, passing the request and correlation ids."""

import httpx

from shared.context import correlation_id_var, request_id_var
from shared.requests import CORRELATION_ID_HEADER, REQUEST_ID_HEADER


async def _propagate_context(request: httpx.Request) -> None:
    request_id = request_id_var.get()
    correlation_id = correlation_id_var.get()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id
    if correlation_id and CORRELATION_ID_HEADER not in request.headers:
        request.headers[CORRELATION_ID_HEADER] = correlation_id


KEEPALIVE_EXPIRY_SECONDS = 3.0


def service_client(*, base_url: str, timeout_seconds: float = 5.0, max_connections: int = 100) -> httpx.AsyncClient:
    """A client for one upstream service. Callers close it (the app's lifespan does)."""
    return httpx.AsyncClient(
        base_url=base_url,
        # Waiting for a free pooled connection is queueing here, not a slow upstream: under a
        # burst it may take longer than one call is allowed to.
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0), pool=max(timeout_seconds, 30.0)),
        # Idle connections are dropped before the server's own keep-alive timeout (uvicorn's is
        # 5 s): a connection reused just as the server closes it fails the request with it.
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
        ),
        event_hooks={"request": [_propagate_context]},
    )
