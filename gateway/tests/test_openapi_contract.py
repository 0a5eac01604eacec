"""The merged OpenAPI is one a generated SDK can live on: short camelCase operation ids, unique
across the document; tags by resource; every error as the problem body with the error codes
each operation can answer, including the gateway's own; rate-limit headers on every answer."""

import importlib
import re
from typing import Any

import pytest
from fastapi import FastAPI

from gateway.main import build_app as build_gateway_app
from gateway.openapi.service import merge_documents
from shared.errors import PROBLEM_CONTENT_TYPE
from shared.openapi import PROBLEM_REF, PROBLEM_SCHEMA_NAME, declared_error_codes, operations

SERVICES = ("inventory", "booking", "payment", "notification", "analytics")
CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")


def _service_document(service: str) -> dict[str, Any]:
    app: FastAPI = importlib.import_module(f"services.{service}.main").build_app()
    return app.openapi()


@pytest.fixture(scope="module")
def service_documents() -> dict[str, dict[str, Any]]:
    return {service: _service_document(service) for service in SERVICES}


@pytest.fixture(scope="module")
def merged(service_documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return merge_documents(build_gateway_app().openapi(), dict(service_documents))


def _documents(service_documents: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [("gateway", build_gateway_app().openapi()), *service_documents.items()]


def test_every_operation_of_every_app_has_a_camel_case_id_tags_and_problem_errors_with_422(
    service_documents: dict[str, dict[str, Any]],
) -> None:
    for app, document in _documents(service_documents):
        assert document["components"]["schemas"][PROBLEM_SCHEMA_NAME]["required"] == [
            "status",
            "error",
            "error_code",
            "message",
            "details",
            "timestamp",
            "request_id",
        ]
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for path, method, operation in operations(document):
            where = f"{app}: {method.upper()} {path}"
            assert CAMEL_CASE.fullmatch(operation["operationId"]), where
            assert operation.get("tags"), where
            assert "VALIDATION_ERROR" in declared_error_codes(operation, 422), where
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM_CONTENT_TYPE], f"{where} {status}"
                    assert response["content"][PROBLEM_CONTENT_TYPE]["schema"]["allOf"][0] == {"$ref": PROBLEM_REF}
                    assert declared_error_codes(operation, int(status)), f"{where} {status}"


def test_operation_ids_are_unique_across_the_merged_document(merged: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(merged)]
    assert len(ids) == len(set(ids)) > 80
    by_route = {(method, path): operation["operationId"] for path, method, operation in operations(merged)}
    assert by_route[("post", "/api/v1/bookings")] == "createBooking"
    assert by_route[("post", "/api/v1/holds")] == "placeHold"
    assert by_route[("post", "/api/v1/auth/token")] == "issueToken"


def test_a_merge_where_two_operations_share_an_id_fails_loudly() -> None:
    def document(path: str) -> dict[str, Any]:
        operation = {"operationId": "readThing", "responses": {"200": {"description": "OK"}}}
        return {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {path: {"get": operation}}}

    with pytest.raises(ValueError, match="readThing"):
        merge_documents(document("/api/v1/auth/me"), {"inventory": document("/listings")})


def test_tags_group_operations_by_resource(merged: dict[str, Any]) -> None:
    tags = {(method, path): operation["tags"] for path, method, operation in operations(merged)}
    assert tags[("post", "/api/v1/bookings")] == ["Bookings"]
    assert tags[("post", "/api/v1/bookings/{booking_id}/cancel")] == ["Bookings"]
    assert tags[("post", "/api/v1/holds")] == ["Holds"]
    assert tags[("get", "/api/v1/listings")] == ["Listings"]
    assert tags[("post", "/api/v1/carts/{cart_id}/checkout")] == ["Carts"]
    assert tags[("post", "/api/v1/auth/token")] == ["Auth"]


def test_a_hold_and_a_booking_document_sold_out_as_a_typed_409(merged: dict[str, Any]) -> None:
    for path in ("/api/v1/holds", "/api/v1/bookings"):
        assert "SOLD_OUT" in declared_error_codes(merged["paths"][path]["post"], 409), path


def test_the_gateway_answers_are_documented_on_every_public_operation(merged: dict[str, Any]) -> None:
    for path, method, operation in operations(merged):
        if not path.startswith("/api/v1/"):
            continue
        where = f"{method.upper()} {path}"
        assert "RATE_LIMITED" in declared_error_codes(operation, 429), where
        assert operation["responses"]["429"]["headers"]["Retry-After"]["required"] is True, where
        assert "INVALID_PATH" in declared_error_codes(operation, 400), where
        assert "INVALID_TOKEN" in declared_error_codes(operation, 401), where
        for response in operation["responses"].values():
            assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(response["headers"]), where
        if operation["security"]:
            assert "UNAUTHORIZED" in declared_error_codes(operation, 401), where
            assert "FORBIDDEN" in declared_error_codes(operation, 403), where
        if not path.startswith("/api/v1/auth/"):
            assert {"BAD_GATEWAY"} == set(declared_error_codes(operation, 502)), where
            assert "GATEWAY_TIMEOUT" in declared_error_codes(operation, 504), where


def test_operations_that_answer_once_per_idempotency_key_document_the_header(merged: dict[str, Any]) -> None:
    for path in ("/api/v1/bookings", "/api/v1/carts/{cart_id}/checkout", "/api/v1/booking-requests"):
        operation = merged["paths"][path]["post"]
        headers = [parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"]
        assert "Idempotency-Key" in headers, path
        assert "IDEMPOTENCY_KEY_REUSED" in declared_error_codes(operation, 422), path
