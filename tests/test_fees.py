"""Fee rules through the gateway: anyone can ask what fee a sale of a listing carries and which
rule gave it (payment asks inventory for the listing); an admin's rule for the provider takes
over until it is switched off."""

import uuid

import httpx
import pytest

from tests.flows import LISTING, sign_in, sign_up
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


@pytest.fixture
def admin(gateway: httpx.Client) -> dict[str, str]:
    return sign_in(gateway, "admin@travel.example", "admin-password-change-me")


def _quote(gateway: httpx.Client, listing_id: str, amount: str) -> httpx.Response:
    return gateway.get("/api/v1/fees/quote", params={"listing_id": listing_id, "amount": amount})


def test_a_quote_names_the_rule_that_applies_and_an_admins_provider_rule_takes_over(
    gateway: httpx.Client, admin: dict[str, str]
) -> None:
    provider = sign_up(gateway, "provider")
    provider_id = gateway.get("/api/v1/auth/me", headers=provider).json()["id"]
    listing = gateway.post("/api/v1/listings", json=LISTING | {"category": "accommodation"}, headers=provider)
    assert listing.status_code == 201, listing.text
    listing_id = listing.json()["id"]

    by_default = _quote(gateway, listing_id, "200.00")
    assert by_default.status_code == 200, by_default.text
    assert (by_default.json()["amount"], by_default.json()["currency"], by_default.json()["fee"]) == (
        "200.00",
        "EUR",
        {"amount": "15.00", "currency": "EUR"},
    )
    assert {key: by_default.json()["rule"][key] for key in ("scope", "category", "percentage")} == {
        "scope": "category",
        "category": "accommodation",
        "percentage": "7.5",
    }

    created = gateway.post(
        "/api/v1/admin/fees",
        json={"scope": "provider", "provider_id": provider_id, "fixed_amount": "4.00", "currency": "EUR"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    by_rule = _quote(gateway, listing_id, "200.00").json()
    assert by_rule["fee"] == {"amount": "4.00", "currency": "EUR"}
    assert (by_rule["rule"]["id"], by_rule["rule"]["scope"], by_rule["rule"]["provider_id"]) == (
        created.json()["id"],
        "provider",
        provider_id,
    )
    assert _quote(gateway, listing_id, "3.00").json()["fee"]["amount"] == "3.00", "never more than the sale"

    switched_off = gateway.patch(f"/api/v1/admin/fees/{created.json()['id']}", json={"active": False}, headers=admin)
    assert switched_off.status_code == 200, switched_off.text
    assert _quote(gateway, listing_id, "200.00").json()["rule"]["category"] == "accommodation"
    listed = gateway.get("/api/v1/admin/fees", headers=admin).json()["items"]
    assert [rule["active"] for rule in listed if rule["id"] == created.json()["id"]] == [False]


def test_only_admins_manage_fee_rules_and_a_bad_quote_gets_the_error_body(gateway: httpx.Client) -> None:
    provider = sign_up(gateway, "provider")
    rule = {"scope": "global", "percentage": "1"}
    assert gateway.post("/api/v1/admin/fees", json=rule).status_code == 401
    refused = gateway.post("/api/v1/admin/fees", json=rule, headers=provider)
    assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN")
    assert gateway.get("/api/v1/admin/fees", headers=provider).status_code == 403

    unknown = _quote(gateway, str(uuid.uuid4()), "10.00")
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "NOT_FOUND")
    listing_id = gateway.post("/api/v1/listings", json=LISTING, headers=provider).json()["id"]
    for amount in ("-1.00", "ten", "1.005"):
        invalid = _quote(gateway, listing_id, amount)
        assert (invalid.status_code, invalid.json()["error_code"]) == (422, "VALIDATION_ERROR"), amount
