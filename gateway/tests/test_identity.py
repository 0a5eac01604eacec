"""Register, sign in and out, refresh with rotation and reuse detection, and every kind of bad
access token refused with 401 and the error body."""

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.tests.gateways import ADMIN_EMAIL, PASSWORD, Gateway, bearer, new_email, running_gateway


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    async with running_gateway(database_url, redis_url, bootstrap_servers) as running:
        yield running


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["error_code"] == "INVALID_TOKEN"
    assert body["status"] == 401
    assert body["request_id"] == response.headers["x-request-id"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(document: dict[str, Any]) -> str:
    return _b64(json.dumps(document).encode())


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_register_then_sign_in_and_read_me(gateway: Gateway) -> None:
    email = new_email().replace("user", "User")
    user = await gateway.register(email, role="provider")
    assert user["email"] == email.lower()
    assert user["roles"] == ["provider"]
    assert "password" not in str(user)

    tokens = await gateway.tokens(email.upper())
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await gateway.me(bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_an_access_token_is_an_eddsa_jwt_naming_its_key_for_fifteen_minutes(gateway: Gateway) -> None:
    user = await gateway.register()
    access = (await gateway.tokens(user["email"]))["access_token"]
    header = jwt.get_unverified_header(access)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == gateway.authenticator.key_ring.active().kid
    claims = _claims(access)
    assert claims["exp"] - claims["iat"] == 900
    assert {"jti", "sid", "sub", "roles"} <= set(claims)


async def test_an_email_is_taken_once_whatever_its_case(gateway: Gateway) -> None:
    email = new_email()
    user = await gateway.register(email)
    again = await gateway.client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": "another password", "name": "Other"}
    )
    assert again.status_code == 202
    account = await gateway.account(email)
    assert account is not None
    assert (str(account.id), account.name) == (user["id"], "Ana")
    assert (await gateway.sign_in(email, "another password")).status_code == 401


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
    sign_in = await gateway.sign_in(str(body["email"]), str(body["password"]))
    assert sign_in.status_code in (401, 422)


async def test_a_wrong_password_or_unknown_email_is_401(gateway: Gateway) -> None:
    user = await gateway.register()
    for response in (await gateway.sign_in(user["email"], "wrong password!"), await gateway.sign_in(new_email())):
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_CREDENTIALS"


async def test_an_access_token_expires_after_its_ttl(gateway: Gateway) -> None:
    user = await gateway.register()
    access = bearer((await gateway.tokens(user["email"]))["access_token"])
    gateway.clock.advance(timedelta(seconds=gateway.settings.access_token_ttl_seconds - 1))
    assert (await gateway.me(access)).status_code == 200
    gateway.clock.advance(timedelta(seconds=2))
    _assert_refused(await gateway.me(access))


async def test_a_tampered_or_malformed_token_is_401(gateway: Gateway) -> None:
    user = await gateway.register()
    access = (await gateway.tokens(user["email"]))["access_token"]
    header, payload, signature = access.split(".")
    admin_payload = _segment(_claims(access) | {"roles": ["admin"]})
    bad_signature = f"{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"
    for token in (f"{header}.{payload}.{bad_signature}", f"{header}.{admin_payload}.{signature}", "a.b.c", "x"):
        _assert_refused(await gateway.me(bearer(token)))
    _assert_refused(await gateway.me({"Authorization": "Basic dXNlcjpwYXNz"}))


async def test_a_token_signed_with_a_key_the_gateway_does_not_publish_is_401(gateway: Gateway) -> None:
    user = await gateway.register()
    claims = _claims((await gateway.tokens(user["email"]))["access_token"])
    stranger = Ed25519PrivateKey.generate()
    active_kid = gateway.authenticator.key_ring.active().kid
    for kid in (active_kid, "a-key-nobody-published"):
        forged = jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": kid})
        _assert_refused(await gateway.me(bearer(forged)))


async def test_alg_none_and_an_hs256_token_keyed_with_the_public_key_are_401(gateway: Gateway) -> None:
    user = await gateway.register()
    access = (await gateway.tokens(user["email"]))["access_token"]
    claims = _claims(access) | {"roles": ["admin"]}
    kid = jwt.get_unverified_header(access)["kid"]
    jwk = next(key for key in (await gateway.client.get("/.well-known/jwks.json")).json()["keys"] if key["kid"] == kid)
    public_key = jwt.PyJWK(jwk).key

    unsigned = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}."
    _assert_refused(await gateway.me(bearer(unsigned)))
    # The public key as an HMAC secret, in each form a confused verifier might use.
    for secret in (
        public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        public_key.public_bytes(Encoding.Raw, PublicFormat.Raw),
        jwk["x"].encode(),
    ):
        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        _assert_refused(await gateway.me(bearer(f"{signing_input}.{_b64(mac)}")))


async def test_signing_out_revokes_the_access_token_and_its_session_but_not_others(gateway: Gateway) -> None:
    user = await gateway.register()
    first = await gateway.tokens(user["email"])
    second = await gateway.tokens(user["email"])
    refreshed = (
        await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()

    logout = await gateway.client.post("/api/v1/auth/logout", headers=bearer(refreshed["access_token"]))
    assert logout.status_code == 204

    _assert_refused(await gateway.me(bearer(refreshed["access_token"])))
    _assert_refused(await gateway.me(bearer(first["access_token"])))
    again = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": refreshed["refresh_token"]})
    assert again.status_code == 401
    assert (await gateway.me(bearer(second["access_token"]))).status_code == 200, "another sign-in lives on"
    _assert_refused(await gateway.client.post("/api/v1/auth/logout", headers=bearer(refreshed["access_token"])))


async def test_a_revoked_token_is_refused_by_every_gateway_process(
    gateway: Gateway, database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    user = await gateway.register()
    access = bearer((await gateway.tokens(user["email"]))["access_token"])
    async with running_gateway(database_url, redis_url, bootstrap_servers, clock=gateway.clock) as other:
        assert (await other.me(access)).status_code == 200
        assert (await gateway.client.post("/api/v1/auth/logout", headers=access)).status_code == 204
        _assert_refused(await other.me(access))


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(gateway: Gateway) -> None:
    user = await gateway.register()
    first = await gateway.tokens(user["email"])

    second = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (await gateway.me(bearer(rotated["access_token"]))).status_code == 200

    reused = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The reuse revoked the family: what the thief or the user got last is dead too.
    after = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    _assert_refused(await gateway.me(bearer(rotated["access_token"])))


async def test_a_refresh_token_expires(gateway: Gateway) -> None:
    user = await gateway.register()
    refresh_token = (await gateway.tokens(user["email"]))["refresh_token"]
    gateway.clock.advance(timedelta(days=gateway.settings.refresh_token_ttl_days, seconds=1))
    response = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert response.status_code == 401


async def test_the_bootstrap_admin_can_sign_in_as_admin(gateway: Gateway) -> None:
    me = await gateway.me(await gateway.admin())
    assert me.json()["email"] == ADMIN_EMAIL
    assert me.json()["roles"] == ["admin"]
