"""What every app's OpenAPI says the same way: short camelCase operation ids, and errors as the
api.md problem body (`application/problem+json`) with the `error_code` values each operation
can answer, so a generated client can narrow on `error.error_code`.

A route declares its domain errors with `responses=problems(SOLD_OUT, HOLD_EXISTS)` (the codes
are in `shared.error_codes`); the answers every operation shares (422 for a request that is not
valid, 404 where a path names something) are added by `complete_problem_responses` when the app
builds its document, and the gateway adds what it answers itself when it merges the documents.
"""

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from shared.error_codes import NOT_FOUND, VALIDATION_ERROR, ErrorCode
from shared.errors import PROBLEM_CONTENT_TYPE

PROBLEM_SCHEMA_NAME = "Problem"
PROBLEM_REF = f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_SCHEMA_NAME,
    "description": "The one error body of the API, served as application/problem+json.",
    "type": "object",
    "required": ["status", "error", "error_code", "message", "details", "timestamp", "request_id"],
    "properties": {
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
        "error": {"type": "string", "description": "The status's reason phrase."},
        "error_code": {"type": "string", "description": "What went wrong, for a program to act on."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "details": {"type": "object", "additionalProperties": True},
        "timestamp": {"type": "string", "format": "date-time"},
        "request_id": {"type": ["string", "null"]},
    },
}

# FastAPI's own validation error shapes: the real 422 body is the problem body instead.
_FRAMEWORK_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def operation_id(route: APIRoute) -> str:
    """`create_booking` -> `createBooking`: the route function's name, as SDK method names go."""
    first, *rest = [word for word in route.name.split("_") if word]
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def problem_response_schema(status: int, codes: Iterable[str]) -> dict[str, Any]:
    """The problem body of `status` whose `error_code` is one of `codes`: an intersection
    generators type as `Problem & {status: 409, error_code: "A" | "B"}`, which a client narrows on."""
    return {
        "allOf": [
            {"$ref": PROBLEM_REF},
            {
                "type": "object",
                "required": ["status", "error_code"],
                "properties": {
                    "status": {"type": "integer", "enum": [status]},
                    "error_code": {"type": "string", "enum": sorted(set(codes))},
                },
            },
        ]
    }


def problem_response(status: int, codes: Iterable[str]) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": problem_response_schema(status, codes)}},
    }


def problems(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problem answers with the error codes it can give."""
    by_status: dict[int, set[str]] = {}
    for error in codes:
        by_status.setdefault(error.status, set()).add(error.code)
    return {status: problem_response(status, found) for status, found in sorted(by_status.items())}


def declared_error_codes(operation: dict[str, Any], status: int) -> list[str]:
    """The `error_code` values an operation documents for a status; empty when it documents none."""
    response = operation.get("responses", {}).get(str(status), {})
    schema = response.get("content", {}).get(PROBLEM_CONTENT_TYPE, {}).get("schema", {})
    for part in schema.get("allOf", []):
        enum = part.get("properties", {}).get("error_code", {}).get("enum")
        if enum is not None:
            return list(enum)
    return []


def add_problems(operation: dict[str, Any], *codes: ErrorCode) -> None:
    """Document more error codes on an operation, beside the ones it declares already."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted({error.status for error in codes}):
        known = declared_error_codes(operation, status)
        added = [error.code for error in codes if error.status == status]
        responses[str(status)] = problem_response(status, [*known, *added])
    operation["responses"] = dict(sorted(responses.items()))


def operations(document: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of an OpenAPI document."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def complete_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation answers a request that is not valid with 422 VALIDATION_ERROR, and one
    whose path names something with 404 NOT_FOUND, as the problem body; FastAPI's validation
    error schemas go, since no answer has that shape."""
    for path, _, operation in operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        if "application/json" in responses.get("422", {}).get("content", {}):
            del responses["422"]
        add_problems(operation, VALIDATION_ERROR)
        if "{" in path:
            add_problems(operation, NOT_FOUND)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FRAMEWORK_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
    return document


def install_problem_openapi(app: FastAPI) -> None:
    """`app.openapi()` answers FastAPI's document completed with the platform's error answers."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete_problem_responses(FastAPI.openapi(app))
        return app.openapi_schema or {}

    app.openapi = build  # type: ignore[method-assign]


def check_unique_operation_ids(document: dict[str, Any]) -> None:
    """Refuse a document where two operations share an operationId: an SDK would lose one."""
    seen: dict[str, str] = {}
    for path, method, operation in operations(document):
        identifier = operation.get("operationId")
        if identifier is None:
            continue
        where = f"{method.upper()} {path}"
        if identifier in seen:
            raise ValueError(f"operationId {identifier!r} of {where} is also that of {seen[identifier]}")
        seen[identifier] = where
