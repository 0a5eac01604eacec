"""Pure rules of the gateway: which service owns a path, and how documents merge."""

from typing import Any

import pytest

from gateway.openapi.service import merge_documents
from gateway.proxy.routes import Upstream, owner_of


@pytest.mark.parametrize(
    ("public_path", "expected"),
    [
        ("/api/v1/listings", Upstream("inventory", "/listings")),
        ("/api/v1/listings/abc/availability", Upstream("inventory", "/listings/abc/availability")),
        ("/api/v1/r/AB12", Upstream("booking", "/r/AB12")),
        ("/api/v1/providers/me/earnings", Upstream("payment", "/providers/me/earnings")),
        ("/api/v1/admin/fees/7", Upstream("payment", "/admin/fees/7")),
        ("/api/v1/expert-grants/7", Upstream("booking", "/expert-grants/7")),
        ("/api/v1/admin/experts/7", Upstream("booking", "/admin/experts/7")),
        ("/api/v1/payments/methods", Upstream("payment", "/payments/methods")),
        ("/api/v1/analytics/revenue", Upstream("analytics", "/analytics/revenue")),
        ("/api/v1/reviews", None),
        ("/api/v1/listingsx", None),
        ("/api/v1/providers/me", None),
        ("/api/v2/listings", None),
        ("/listings", None),
    ],
)
def test_the_owner_is_the_longest_whole_segment_prefix(public_path: str, expected: Upstream | None) -> None:
    assert owner_of(public_path) == expected


def _document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def test_a_schema_name_two_services_use_differently_is_renamed_and_its_refs_follow() -> None:
    quote_ref = {"$ref": "#/components/schemas/Quote"}
    inventory = _document(
        {"/holds": {"post": {"responses": {"201": {"content": {"application/json": {"schema": quote_ref}}}}}}},
        {"Quote": {"type": "object", "properties": {"total": {"type": "string"}}}},
    )
    payment = _document(
        {"/fees/quote": {"get": {"responses": {"200": {"content": {"application/json": {"schema": quote_ref}}}}}}},
        {"Quote": {"type": "object", "properties": {"fee": {"type": "string"}}}},
    )
    merged = merge_documents(_document({}, {}), {"inventory": inventory, "payment": payment})
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Quote", "Payment_Quote"}
    fee_schema = merged["paths"]["/api/v1/fees/quote"]["get"]["responses"]["200"]["content"]["application/json"]
    assert fee_schema["schema"] == {"$ref": "#/components/schemas/Payment_Quote"}
    hold_schema = merged["paths"]["/api/v1/holds"]["post"]["responses"]["201"]["content"]["application/json"]
    assert hold_schema["schema"] == quote_ref
    assert merged["x-missing-services"] == []


def test_an_identical_schema_is_shared_not_duplicated() -> None:
    error = {"HTTPValidationError": {"type": "object"}}
    merged = merge_documents(
        _document({}, {}), {"booking": _document({}, dict(error)), "payment": _document({}, dict(error))}
    )
    assert set(merged["components"]["schemas"]) == {"HTTPValidationError"}
