"""Request ids: taken from `X-Request-ID` when the caller sent one, made up otherwise, and
returned on every response; `X-Correlation-ID` follows a flow across services and events."""

import logging
import re
import uuid

import redis.exceptions
import sqlalchemy.exc
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import correlation_id_var, request_id_var
from shared.error_handlers import problem_response

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"

DEPENDENCY_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
)

# SQLSTATE class 22, "data exception": a value the database will not take (a number out of
# range, a NUL character in text, a date past year 9999). Only input brings such values in.
_DATA_EXCEPTION_CLASS = "22"


def _is_a_value_the_database_refused(error: Exception) -> bool:
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_DATA_EXCEPTION_CLASS)


# A caller's id is echoed into logs and headers, so only a short, plain token is accepted.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key == wanted:
            decoded = value.decode("latin-1")
            return decoded if _SAFE_ID.match(decoded) else None
    return None


class RequestContextMiddleware:
    """Sets the request and correlation ids for the request, and turns an unexpected error into
    the api.md 500 body (nothing of the error's text reaches the caller; the log has it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, REQUEST_ID_HEADER) or uuid.uuid4().hex
        correlation_id = _header(scope, CORRELATION_ID_HEADER) or request_id
        request_token = request_id_var.set(request_id)
        correlation_token = correlation_id_var.set(correlation_id)

        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as error:
            if response_started or scope["type"] != "http":
                raise
            if isinstance(error, DEPENDENCY_DOWN):
                # Redis or PostgreSQL unreachable even after the clients' own retries: a
                # moment's outage, so the caller is told to try again rather than that we broke.
                logger.warning("dependency unreachable on %s %s: %r", scope.get("method"), scope.get("path"), error)
                response = problem_response(
                    503,
                    "A service we depend on is unreachable; try again shortly.",
                    error_code="DEPENDENCY_UNAVAILABLE",
                    headers={"Retry-After": "1"},
                )
            elif _is_a_value_the_database_refused(error):
                # The transaction rolled back, so nothing changed; validation should have caught it.
                logger.warning("a value was refused on %s %s: %r", scope.get("method"), scope.get("path"), error)
                response = problem_response(
                    422,
                    "A value in the request is out of range or holds a character that cannot be stored.",
                    error_code="VALIDATION_ERROR",
                )
            else:
                logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                response = problem_response(500, "Something went wrong on our side.", error_code="INTERNAL_ERROR")
            await response(scope, receive, send_with_request_id)
        finally:
            request_id_var.reset(request_token)
            correlation_id_var.reset(correlation_token)


def client_address(request: Request) -> str | None:
    """The caller's address: behind the gateway, the one it saw (the last X-Forwarded-For hop,
    the only one it vouches for); else the connection's own."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64] or None
    return request.client.host if request.client else None
