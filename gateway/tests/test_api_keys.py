"""Provider API keys: shown once, stored hashed, scoped at the gateway, revocable."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import select

from devstack.infra import free_port
from gateway.identity.models import ApiKey
from gateway.tests.gateways import Gateway, running_gateway
from shared.auth import INTERNAL_IDENTITY_HEADER
from shared.testing import gateway_verifier


def _echo_upstream() -> FastAPI:
    """Every service at once: answers any request with what reached it."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(request: Request, path: str) -> dict[str, Any]:
        return {"method": request.method, "path": f"/{path}", "identity": request.headers.get(INTERNAL_IDENTITY_HEADER)}

    return app


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_echo_upstream(), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    upstream = f"http://127.0.0.1:{port}"
    try:
        async with running_gateway(
            database_url,
            redis_url,
            bootstrap_servers,
            inventory_url=upstream,
            booking_url=upstream,
            payment_url=upstream,
            notification_url=upstream,
            analytics_url=upstream,
        ) as running:
            yield running
    finally:
        server.should_exit = True
        await serving


async def _new_key(
    gateway: Gateway, owner: dict[str, str], scopes: list[str], name: str = "channel manager"
) -> dict[str, Any]:
    response = await gateway.client.post("/api/v1/auth/api-keys", json={"name": name, "scopes": scopes}, headers=owner)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _api_key(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


async def test_a_key_is_shown_once_and_only_its_hash_is_kept(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    created = await _new_key(gateway, provider, ["listings:write", "listings:read"])
    key = created["key"]
    assert key.startswith(created["prefix"] + "_")
    assert created["scopes"] == ["listings:read", "listings:write"]

    listed = (await gateway.client.get("/api/v1/auth/api-keys", headers=provider)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "key" not in listed["items"][0]
    assert key not in str(listed)

    async with gateway.app.state.resources.session_factory() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert stored is not None
    assert stored.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str([stored.name, stored.prefix, stored.secret_hash, stored.scopes])


async def test_a_key_acts_as_its_provider_within_its_scopes_only(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    provider_email = (await gateway.me(provider)).json()["email"]
    key = _api_key((await _new_key(gateway, provider, ["listings:write", "bookings:read"]))["key"])

    created = await gateway.client.post("/api/v1/listings", json={}, headers=key)
    assert created.status_code == 200
    assert created.json()["path"] == "/listings"
    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()["keys"]
    identity = await gateway_verifier(jwks, audience="inventory").verify(created.json()["identity"])
    assert (identity.email, identity.roles) == (provider_email, ("provider",))
    assert (await gateway.client.get("/api/v1/bookings/b-1", headers=key)).status_code == 200

    for method, path in [
        ("POST", "/api/v1/bookings"),
        ("PATCH", "/api/v1/bookings/b-1"),
        ("GET", "/api/v1/providers/me/earnings"),
        ("GET", "/api/v1/payments/methods"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/auth/api-keys"),
        ("POST", "/api/v1/auth/logout"),
    ]:
        refused = await gateway.client.request(method, path, headers=key)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error_code"] == "INSUFFICIENT_SCOPE"
    made_with_key = await gateway.client.post(
        "/api/v1/auth/api-keys", json={"name": "more", "scopes": ["earnings:read"]}, headers=key
    )
    assert made_with_key.status_code == 403, "a key never makes keys"


async def test_a_revoked_key_stops_working_at_once(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    created = await _new_key(gateway, provider, ["listings:read"])
    key = _api_key(created["key"])
    assert (await gateway.client.get("/api/v1/listings/mine", headers=key)).status_code == 200

    other_provider = await gateway.signed_up(role="provider")
    not_theirs = await gateway.client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=other_provider)
    assert not_theirs.status_code == 404
    assert (await gateway.client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=provider)).status_code == 204

    refused = await gateway.client.get("/api/v1/listings/mine", headers=key)
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "INVALID_API_KEY"
    assert (await gateway.client.get("/api/v1/auth/api-keys", headers=provider)).json()["items"] == []
    assert (await gateway.client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=provider)).status_code == 404


async def test_a_wrong_or_made_up_key_is_401(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    key = (await _new_key(gateway, provider, ["listings:read"]))["key"]
    for wrong in (key[:-3] + "abc", key.split("_")[0] + "_000000000000_" + key.rsplit("_", 1)[-1], "tpk_", "nonsense"):
        refused = await gateway.client.get("/api/v1/listings/mine", headers=_api_key(wrong))
        assert refused.status_code == 401, wrong
        assert refused.json()["error_code"] == "INVALID_API_KEY"


async def test_only_providers_and_admins_make_keys_with_known_scopes(gateway: Gateway) -> None:
    traveler = await gateway.signed_up()
    refused = await gateway.client.post(
        "/api/v1/auth/api-keys", json={"name": "mine", "scopes": ["bookings:read"]}, headers=traveler
    )
    assert refused.status_code == 403
    provider = await gateway.signed_up(role="provider")
    for scopes in ([], ["admin:everything"]):
        invalid = await gateway.client.post(
            "/api/v1/auth/api-keys", json={"name": "x", "scopes": scopes}, headers=provider
        )
        assert invalid.status_code == 422
    assert (await _new_key(gateway, await gateway.admin(), ["earnings:read"]))["key"]


async def test_a_provider_holds_a_bounded_number_of_keys(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    answers = await asyncio.gather(
        *(
            gateway.client.post(
                "/api/v1/auth/api-keys", json={"name": f"key {n}", "scopes": ["listings:read"]}, headers=provider
            )
            for n in range(gateway.settings.api_key_limit + 3)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * gateway.settings.api_key_limit + [409] * 3
    assert {answer.json()["error_code"] for answer in answers if answer.status_code == 409} == {"TOO_MANY_API_KEYS"}
