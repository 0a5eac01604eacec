"""The route policy table: it covers exactly the routes the services serve in public, it lets
each role through only where the table names it (admins wherever a role is named), and the
merged OpenAPI says the same of every operation."""

import importlib
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from gateway.authorization.policy import ROUTE_POLICY, authorize, route_access
from gateway.main import build_app as build_gateway_app
from gateway.openapi.service import merge_documents
from gateway.proxy.routes import PUBLIC_PREFIX, is_owned_by, owner_of
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.identity import ROLES, Identity
from shared.testing import make_identity

SERVICES = ("inventory", "booking", "payment", "notification", "analytics")


def _service_app(service: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{service}.main").build_app()
    return app


@pytest.fixture(scope="module")
def service_documents() -> dict[str, dict[str, Any]]:
    return {service: _service_app(service).openapi() for service in SERVICES}


def _served_in_public(service_documents: dict[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(service, method, path) of every HTTP route a service serves under a path the gateway
    routes to it, and of the table's WebSockets its owner serves."""
    served = {
        (service, method.upper(), path)
        for service, document in service_documents.items()
        for path, item in document["paths"].items()
        for method in item
        if is_owned_by(service, path)
    }
    for _, template, _ in ROUTE_POLICY:
        upstream = owner_of(PUBLIC_PREFIX + template)
        if upstream is not None and _serves_websocket(_service_app(upstream.service), template):
            served.add((upstream.service, "GET", template))
    return served


def _serves_websocket(app: FastAPI, path: str) -> bool:
    scope = {"type": "websocket", "path": path, "root_path": "", "path_params": {}}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def _gateway_routes() -> set[tuple[str, str, str]]:
    """The gateway's own public routes, below /api/v1."""
    document = build_gateway_app().openapi()
    return {
        ("gateway", method.upper(), path[len(PUBLIC_PREFIX) :])
        for path, item in document["paths"].items()
        if path.startswith(PUBLIC_PREFIX + "/")
        for method in item
    }


def test_every_public_route_is_in_the_table_and_every_entry_is_served(
    service_documents: dict[str, dict[str, Any]],
) -> None:
    served = _served_in_public(service_documents) | _gateway_routes()
    in_table = set()
    for method, template, _ in ROUTE_POLICY:
        upstream = owner_of(PUBLIC_PREFIX + template)
        in_table.add((upstream.service if upstream else "gateway", method, template))

    assert served - in_table == set(), "served but not in the route policy table"
    assert in_table - served == set(), "in the route policy table but not served"


@pytest.mark.parametrize(("method", "template"), [(method, template) for method, template, _ in ROUTE_POLICY])
def test_each_role_is_let_through_only_where_the_table_names_it(method: str, template: str) -> None:
    found = route_access(method, template.replace("{", "x").replace("}", ""))
    assert found is not None
    matched, access = found
    assert matched == template
    callers: list[tuple[str, Identity | None]] = [("anonymous", None)] + [(role, make_identity(role)) for role in ROLES]

    for name, caller in callers:
        allowed = access.public or (
            caller is not None and (not access.roles or name in access.roles or name == "admin")
        )
        if allowed:
            authorize(method, template, caller)
        else:
            expected = Unauthorized if caller is None else Forbidden
            with pytest.raises(expected):
                authorize(method, template, caller)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/internal/bookings/1"),
        ("GET", "/listings/1/schedules/2/extra"),
        ("PUT", "/listings/1"),
        ("POST", "/admin/reconciliation"),
    ],
)
def test_a_route_not_in_the_table_is_not_served(method: str, path: str) -> None:
    with pytest.raises(NotFound):
        authorize(method, path, make_identity("admin"))


def test_a_literal_segment_wins_over_a_placeholder() -> None:
    found = route_access("GET", "/bookings/reference/TRV-1")
    assert found is not None
    assert found[0] == "/bookings/reference/{reference}"


def test_the_merged_document_says_who_may_call_each_operation_and_leaves_out_the_rest(
    service_documents: dict[str, dict[str, Any]],
) -> None:
    documents: dict[str, dict[str, Any] | None] = dict(service_documents)
    merged = merge_documents({"openapi": "3.1.0", "info": {"title": "gateway"}, "paths": {}}, documents)

    operations = {
        (method.upper(), path[len(PUBLIC_PREFIX) :]): operation
        for path, item in merged["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }
    # WebSockets are no operations of an OpenAPI document.
    assert set(operations) == {
        (method, template)
        for method, template, _ in ROUTE_POLICY
        if owner_of(PUBLIC_PREFIX + template) is not None and not template.startswith("/ws/")
    }
    for (method, path), operation in operations.items():
        found = route_access(method, path)
        assert found is not None
        access = found[1]
        assert operation["x-roles"] == list(access.roles)
        if access.public:
            assert operation["security"] == [], (method, path)
        else:
            assert {"bearerAuth": []} in operation["security"], (method, path)
    # A provider's API key is offered where its scopes reach, and only there.
    assert operations[("GET", "/bookings/{booking_id}")]["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert operations[("GET", "/bookings/{booking_id}")]["x-api-key-scopes"] == ["bookings:read"]
    assert operations[("POST", "/holds")]["security"] == [{"bearerAuth": []}]
    assert set(merged["components"]["securitySchemes"]) == {"bearerAuth", "apiKey"}


def test_the_gateways_own_routes_say_who_may_call_them_too() -> None:
    merged = merge_documents(build_gateway_app().openapi(), {})

    paths = merged["paths"]
    assert paths["/api/v1/auth/token"]["post"]["security"] == []
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/auth/signing-keys/rotate"]["post"]["x-roles"] == ["admin"]
