"""The handlers every app installs, which answer any error with the problem body of
`shared.errors`."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from shared.errors import PROBLEM_CONTENT_TYPE, AppError, problem_body


def problem_response(
    status: int,
    message: str,
    *,
    error_code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, message, error_code=error_code, details=details)
    all_headers = dict(headers or {})
    if body["request_id"]:
        all_headers["X-Request-ID"] = body["request_id"]
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=all_headers, media_type=PROBLEM_CONTENT_TYPE
    )


async def _handle_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status_code, exc.message, error_code=exc.error_code, details=exc.details, headers=exc.headers
    )


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"No route for {request.method} {request.url.path}"
    return problem_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def _handle_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_response(422, "The request is not valid.", error_code="VALIDATION_ERROR", details={"fields": fields})


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors, HTTP errors and validation errors; unexpected ones are caught by
    `shared.requests.RequestContextMiddleware`, where the request id is still known."""
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
