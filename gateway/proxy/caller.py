"""Who is calling, asked of the authenticator once per request: the rate limiter needs the
answer before the proxy does, and asking twice would verify the credential (and look up its
revocation) twice.

A WebSocket from a browser cannot carry an `Authorization` header, so it may offer its access
token as a subprotocol instead: `new WebSocket(url, ["bearer", token])`. The gateway reads it
as if it were `Authorization: Bearer <token>`, answers with the `bearer` subprotocol (never the
token), and does not pass either on. A token in the query string is not accepted: URLs end up
in logs and browser history."""

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import Scope

from gateway.identity.authenticator import Authenticator
from shared.errors import AppError
from shared.identity import Identity

BEARER_SUBPROTOCOL = "bearer"
_ANSWER_KEY = "gateway.caller"


@dataclass(frozen=True)
class _Answer:
    identity: Identity | None
    error: AppError | None


def offered_subprotocols(scope: Scope) -> list[str]:
    for name, value in scope.get("headers", []):
        if name == b"sec-websocket-protocol":
            return [part.strip() for part in value.decode("latin-1").split(",") if part.strip()]
    return []


def bearer_from_subprotocols(offered: list[str]) -> str | None:
    """The token offered right after `bearer`, if any."""
    for index, protocol in enumerate(offered[:-1]):
        if protocol == BEARER_SUBPROTOCOL:
            return offered[index + 1]
    return None


def passed_on_subprotocols(offered: list[str]) -> list[str]:
    """The subprotocols the service may choose from: the offer without the bearer token."""
    token = bearer_from_subprotocols(offered)
    return [protocol for protocol in offered if protocol not in (BEARER_SUBPROTOCOL, token)]


def _with_subprotocol_credential(scope: Scope) -> Scope:
    headers = scope.get("headers", [])
    if scope["type"] != "websocket" or any(name == b"authorization" for name, _ in headers):
        return scope
    token = bearer_from_subprotocols(offered_subprotocols(scope))
    if token is None:
        return scope
    return {**scope, "headers": [*headers, (b"authorization", f"Bearer {token}".encode("latin-1"))]}


async def identify_caller(connection: HTTPConnection) -> Identity | None:
    """The caller's identity, None for an anonymous one; raises (every time it is asked) what the
    authenticator raised for a bad credential."""
    state = connection.scope.setdefault("state", {})
    answer: _Answer | None = state.get(_ANSWER_KEY)
    if answer is None:
        authenticator: Authenticator = connection.app.state.authenticator
        credentialed = HTTPConnection(_with_subprotocol_credential(connection.scope))
        try:
            answer = _Answer(await authenticator.identify(credentialed), None)
        except AppError as error:
            answer = _Answer(None, error)
        state[_ANSWER_KEY] = answer
    if answer.error is not None:
        raise answer.error
    return answer.identity
