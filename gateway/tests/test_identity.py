"""Register, sign in, refresh with rotation and reuse detection, and the sign-in rate limit."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.main import build_app
from gateway.settings import GatewaySettings
from shared.clock import FrozenClock
from shared.migrations import upgrade_to_head

PASSWORD = "correct horse battery"


@dataclass
class Gateway:
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: GatewaySettings


def _client_for(app: FastAPI) -> httpx.AsyncClient:
    host = f"198.19.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 1234)), base_url="http://gateway")


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    settings = GatewaySettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        token_rate_limit=5,
        bootstrap_admin_email="root-admin@example.com",
    )
    clock = FrozenClock(datetime.now(UTC))
    app = build_app(settings, clock=clock)
    async with app.router.lifespan_context(app), _client_for(app) as client:
        yield Gateway(client, clock, settings)


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@Example.com"


async def _register(client: httpx.AsyncClient, email: str, role: str = "traveler") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ana", "role": role}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _tokens(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def test_register_then_sign_in_and_read_me(gateway: Gateway) -> None:
    email = _email()
    user = await _register(gateway.client, email, role="provider")
    assert user["email"] == email.lower()
    assert user["roles"] == ["provider"]
    assert "password" not in str(user)

    tokens = (await _tokens(gateway.client, email.upper())).json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await gateway.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_an_email_is_taken_once(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    again = await gateway.client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD, "name": "Other"}
    )
    assert again.status_code == 409
    assert again.json()["error_code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "name": "A"},
        {"email": "short@example.com", "password": "short", "name": "A"},
        {"email": "boss@example.com", "password": PASSWORD, "name": "A", "role": "admin"},
        {"email": "extra@example.com", "password": PASSWORD, "name": "A", "is_admin": True},
    ],
)
async def test_bad_registrations_are_422_and_create_nothing(gateway: Gateway, body: dict[str, Any]) -> None:
    response = await gateway.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    sign_in = await _tokens(gateway.client, str(body["email"]), str(body["password"]))
    assert sign_in.status_code in (401, 422)


async def test_a_wrong_password_or_unknown_email_is_401(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    for response in (await _tokens(gateway.client, email, "wrong password!"), await _tokens(gateway.client, _email())):
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_CREDENTIALS"


async def test_an_access_token_expires_after_its_ttl(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    access = (await _tokens(gateway.client, email)).json()["access_token"]
    gateway.clock.advance(timedelta(seconds=gateway.settings.access_token_ttl_seconds - 1))
    still = await gateway.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert still.status_code == 200
    gateway.clock.advance(timedelta(seconds=2))
    expired = await gateway.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert expired.status_code == 401
    assert expired.json()["error_code"] == "INVALID_TOKEN"


async def test_a_tampered_or_foreign_token_is_401(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    access = (await _tokens(gateway.client, email)).json()["access_token"]
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"
    for token in (tampered, "a.b.c", ""):
        response = await gateway.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    first = (await _tokens(gateway.client, email)).json()

    second = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]

    reused = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The reuse revoked the family: the token the thief or the user got last is dead too.
    after = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401


async def test_a_refresh_token_expires(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    refresh_token = (await _tokens(gateway.client, email)).json()["refresh_token"]
    gateway.clock.advance(timedelta(days=gateway.settings.refresh_token_ttl_days, seconds=1))
    response = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert response.status_code == 401


async def test_sign_in_attempts_are_rate_limited_per_address(gateway: Gateway) -> None:
    email = _email()
    await _register(gateway.client, email)
    answers = [await _tokens(gateway.client, email, "wrong password!") for _ in range(6)]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429]
    limited = answers[-1]
    assert limited.json()["error_code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert (await _tokens(gateway.client, email)).status_code == 429, "the right password waits too"


async def test_the_bootstrap_admin_can_sign_in_as_admin(gateway: Gateway) -> None:
    tokens = await _tokens(gateway.client, "root-admin@example.com", gateway.settings.bootstrap_admin_password)
    assert tokens.status_code == 200
    me = await gateway.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.json()["roles"] == ["admin"]
