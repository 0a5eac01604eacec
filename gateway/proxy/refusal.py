"""Answering a request the gateway will not pass on, HTTP or WebSocket alike, with the api.md
error body. A WebSocket handshake gets it over HTTP when the server can send one (uvicorn
can); else the socket is closed as a policy violation, naming the error code."""

from starlette.types import Receive, Scope, Send

from shared.error_handlers import problem_response
from shared.errors import AppError

WS_POLICY_VIOLATION = 1008


async def refuse(scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": error.error_code})
        return
    response = problem_response(
        error.status_code, error.message, error_code=error.error_code, details=error.details, headers=error.headers
    )
    await response(scope, receive, send)
