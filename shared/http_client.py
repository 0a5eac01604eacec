"""HTTP calls between services: pooled, with timeouts, passing the request and correlation ids."""

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.auth import ActingFor
from shared.context import correlation_id_var, request_id_var
from shared.errors import AppError, BadGateway
from shared.requests import CORRELATION_ID_HEADER, REQUEST_ID_HEADER


async def _propagate_context(request: httpx.Request) -> None:
    request_id = request_id_var.get()
    correlation_id = correlation_id_var.get()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id
    if correlation_id and CORRELATION_ID_HEADER not in request.headers:
        request.headers[CORRELATION_ID_HEADER] = correlation_id


KEEPALIVE_EXPIRY_SECONDS = 3.0

Answer = TypeVar("Answer", bound=BaseModel)


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


class ServiceCalls:
    """Calls to one upstream service on someone's behalf, the answers read into contract models.

    The one place an upstream's failures become this service's errors: unreachable, failing
    (5xx) or answering in a shape the contract does not have, 502 BAD_GATEWAY; refusing (4xx),
    its own status, `error_code`, message and details, passed through to the person waiting
    (a 409 SOLD_OUT from inventory reaches the traveler as it is)."""

    def __init__(self, http: httpx.AsyncClient, *, audience: str, acting: ActingFor | None) -> None:
        self._http = http
        self._audience = audience
        # None: nobody in particular, for the upstream's public reads only.
        self._acting = acting

    async def call(
        self,
        method: str,
        path: str,
        *,
        answer: type[Answer],
        body: BaseModel | None = None,
        params: Mapping[str, str | int] | None = None,
        public: bool = False,
    ) -> Answer:
        response = await self._send(method, path, body=body, params=params, public=public)
        try:
            return answer.model_validate_json(response.content)
        except ValidationError:
            raise BadGateway(f"The {self._audience} service answered in an unexpected shape; try again.") from None

    async def send(self, method: str, path: str, *, public: bool = False) -> None:
        """A call whose answer has no body to read (a 204)."""
        await self._send(method, path, body=None, params=None, public=public)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None,
        params: Mapping[str, str | int] | None,
        public: bool,
    ) -> httpx.Response:
        headers = {} if public or self._acting is None else self._acting.headers(self._audience)
        try:
            response = await self._http.request(
                method,
                path,
                content=None if body is None else body.model_dump_json(),
                params=params,
                headers=headers | ({"content-type": "application/json"} if body is not None else {}),
            )
        except httpx.HTTPError:
            raise BadGateway(f"The {self._audience} service is unavailable; try again.") from None
        if response.status_code >= 500:
            raise BadGateway(f"The {self._audience} service failed; try again.")
        if response.status_code >= 400:
            raise self._refusal(response)
        return response

    def _refusal(self, response: httpx.Response) -> AppError:
        try:
            problem = UpstreamProblem.model_validate_json(response.content)
        except ValidationError:
            # Every service refuses with the problem body; anything else came from something in
            # between, which the person waiting can do nothing about.
            return BadGateway(f"The {self._audience} service answered outside its contract; try again.")
        return AppError(
            problem.message, status_code=response.status_code, error_code=problem.error_code, details=problem.details
        )


class UpstreamProblem(BaseModel):
    """An upstream's problem body, as far as it is passed on."""

    model_config = ConfigDict(extra="ignore")

    error_code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
