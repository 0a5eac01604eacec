"""Every operation of the merged OpenAPI, called through the gateway with inputs schemathesis
makes from its schema and a valid token of a role it allows, answers as its document says:
never a server error, only documented status codes, content types and headers, and bodies
that match the documented schemas (errors the problem body with a documented error_code).

It runs after the other end-to-end tests: as an admin it makes fee rules and blackouts at
random, which would change what the others see."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.flows import sign_in, sign_up
from tests.running_platform import PlatformPorts

pytestmark = pytest.mark.changes_platform_wide_settings

Operation = APIOperation[Any, Any, Any, Any]
CONFORMANCE_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def merged_openapi(platform: PlatformPorts) -> BaseSchema:
    document = httpx.get(f"{platform.gateway_url}/openapi.json", timeout=30).json()
    assert document["x-missing-services"] == []
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(scope="module")
def signed_in(platform: PlatformPorts) -> dict[str, dict[str, str]]:
    """A valid access token of each role."""
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as gateway:
        callers = {role: sign_up(gateway, role) for role in ("traveler", "provider", "expert")}
        callers["admin"] = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    return callers


def _caller_for(
    operation: Operation, signed_in: dict[str, dict[str, str]], gateway_url: str
) -> Callable[[], dict[str, str]]:
    """A token of the first role the operation allows (a traveler's where any caller may); a
    new traveler's each time for signing out, which would end the shared traveler's session."""
    if operation.path == "/api/v1/auth/logout":

        def new_traveler() -> dict[str, str]:
            with httpx.Client(base_url=gateway_url, timeout=30) as gateway:
                return sign_up(gateway, "traveler")

        return new_traveler
    roles: list[str] = operation.definition.raw.get("x-roles") or ["traveler"]
    return lambda: signed_in[roles[0]]


def _failures_of(operation: Operation, gateway_url: str, caller: Callable[[], dict[str, str]]) -> str | None:
    """What went wrong when schemathesis called the operation with its inputs, if anything did."""

    @given(case=operation.as_strategy())
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: Case[Operation]) -> None:
        # Redirects (a partner link) are not followed: only the platform is called.
        headers = caller()
        response = case.call(base_url=gateway_url, headers=headers, timeout=30, allow_redirects=False)
        case.validate_response(response, checks=CONFORMANCE_CHECKS, headers=headers)

    try:
        call()
    # Every failure of every operation is reported, not just the first (schemathesis raises a
    # group of failures, which is not an Exception).
    except (Exception, FailureGroup) as error:
        return f"{operation.label}: {error}"
    return None


def test_every_operation_answers_as_its_document_says(
    merged_openapi: BaseSchema, platform: PlatformPorts, signed_in: dict[str, dict[str, str]]
) -> None:
    results = list(merged_openapi.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    failures = [
        failure
        for operation in operations
        if (
            failure := _failures_of(
                operation, platform.gateway_url, _caller_for(operation, signed_in, platform.gateway_url)
            )
        )
    ]

    assert len(operations) == len(results) > 50
    assert not failures, "\n\n".join(failures)
