"""The one error body of the public API: `{"status", "error", "error_code", "message",
"details", "timestamp", "request_id"}`, served as `application/problem+json` whatever went wrong
and wherever, and the errors use cases raise to answer with it.

Free of any web framework, so pure rules (`domain.py`) raise these too; the handlers that turn
them into responses are in `shared.error_handlers`.
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from shared.context import request_id_var

PROBLEM_CONTENT_TYPE = "application/problem+json"

_ERROR_CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class AppError(Exception):
    """A failure the caller should see, with its status and machine-readable code."""

    status_code = 400
    error_code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}
        self.headers = headers or {}


class Unauthorized(AppError):
    status_code = 401
    error_code = "UNAUTHORIZED"


class Forbidden(AppError):
    status_code = 403
    error_code = "FORBIDDEN"


class NotFound(AppError):
    status_code = 404
    error_code = "NOT_FOUND"


class Conflict(AppError):
    status_code = 409
    error_code = "CONFLICT"


class InvalidInput(AppError):
    status_code = 422
    error_code = "VALIDATION_ERROR"


class PayloadTooLarge(AppError):
    status_code = 413
    error_code = "PAYLOAD_TOO_LARGE"


class BadGateway(AppError):
    status_code = 502
    error_code = "BAD_GATEWAY"


class ServiceUnavailable(AppError):
    status_code = 503
    error_code = "SERVICE_UNAVAILABLE"


class GatewayTimeout(AppError):
    status_code = 504
    error_code = "GATEWAY_TIMEOUT"


def default_error_code(status: int) -> str:
    return _ERROR_CODES_BY_STATUS.get(status, HTTPStatus(status).phrase.upper().replace(" ", "_"))


def problem_body(
    status: int, message: str, *, error_code: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "status": status,
        "error": HTTPStatus(status).phrase,
        "error_code": error_code or default_error_code(status),
        "message": message,
        "details": details or {},
        "timestamp": datetime.now(UTC).isoformat(),
        "request_id": request_id_var.get(),
    }
