"""Tokens of a trusted external identity provider, verified with its JWKS (served here by the
test itself), act as a local account made at first sight."""

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from devstack.infra import free_port
from gateway.tests.gateways import Gateway, bearer, running_gateway

ISSUER = "https://idp.example.test/"
AUDIENCE = "travel-platform"
KID = "idp-key-1"


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks_app(key: rsa.RSAPrivateKey, fetches: list[datetime]) -> FastAPI:
    app = FastAPI()
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {
        "kid": KID,
        "alg": "RS256",
        "use": "sig",
    }

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        fetches.append(datetime.now(UTC))
        return {"keys": [jwk]}

    return app


@pytest.fixture
async def gateway(
    database_url: str, redis_url: str, bootstrap_servers: str, idp_key: rsa.RSAPrivateKey
) -> AsyncIterator[Gateway]:
    port = free_port()
    fetches: list[datetime] = []
    server = uvicorn.Server(
        uvicorn.Config(_jwks_app(idp_key, fetches), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with running_gateway(
            database_url,
            redis_url,
            bootstrap_servers,
            external_idp_issuer=ISSUER,
            external_idp_audience=AUDIENCE,
            external_idp_jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
        ) as running:
            running.app.state.idp_fetches = fetches
            yield running
    finally:
        server.should_exit = True
        await serving


def _idp_token(key: Any, gateway: Gateway, *, algorithm: str = "RS256", kid: str = KID, **claims: Any) -> str:
    now = gateway.clock.now()
    subject = claims.pop("sub", uuid.uuid4().hex)
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "email": f"idp-{subject[:12]}@example.com",
        "email_verified": True,
        "name": "Ines",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | claims
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


async def test_a_first_seen_user_gets_a_traveler_account_that_later_tokens_reuse(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    subject = uuid.uuid4().hex
    first = await gateway.me(bearer(_idp_token(idp_key, gateway, sub=subject)))
    assert first.status_code == 200, first.text
    account = first.json()
    assert account["roles"] == ["traveler"]
    assert account["email"] == f"idp-{subject[:12]}@example.com"
    assert account["name"] == "Ines"

    again = await gateway.me(bearer(_idp_token(idp_key, gateway, sub=subject, email="changed@example.com")))
    assert again.json()["id"] == account["id"], "linked by issuer and subject"
    assert len(gateway.app.state.idp_fetches) == 1, "the JWKS is cached"

    no_password = await gateway.sign_in(account["email"], "any password at all")
    assert no_password.status_code == 401


async def test_a_verified_email_links_to_the_local_account_and_an_unverified_one_is_refused(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    local = await gateway.register()
    unverified = await gateway.me(bearer(_idp_token(idp_key, gateway, email=local["email"], email_verified=False)))
    assert unverified.status_code == 401
    verified = await gateway.me(bearer(_idp_token(idp_key, gateway, email=local["email"])))
    assert verified.json()["id"] == local["id"]


async def test_the_first_sight_of_a_user_from_concurrent_requests_makes_one_account(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    token = bearer(_idp_token(idp_key, gateway))
    answers = await asyncio.gather(*(gateway.me(token) for _ in range(5)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1


def _hs256_keyed_with(secret: bytes, claims: dict[str, Any]) -> str:
    """A token signed by HMAC with `secret`, made by hand: the library refuses a public key as
    an HMAC secret, which is the mistake an attacker hopes a verifier makes."""

    def segment(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document, default=str).encode()).rstrip(b"=").decode()

    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


async def test_bad_external_tokens_are_401(gateway: Gateway, idp_key: rsa.RSAPrivateKey) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = gateway.clock.now()
    public_pem = idp_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mallory",
        "email": "mallory@example.com",
        "exp": now.timestamp() + 300,
    }
    bad = {
        "signed by a key the provider does not publish": _idp_token(stranger, gateway),
        "naming an unknown key": _idp_token(idp_key, gateway, kid="nope"),
        "for another audience": _idp_token(idp_key, gateway, aud="someone-else"),
        "expired": _idp_token(idp_key, gateway, iat=now - timedelta(hours=1), exp=now - timedelta(seconds=1)),
        "without an email": _idp_token(idp_key, gateway, email=None),
        "hs256 keyed with the provider's public key": _hs256_keyed_with(public_pem, claims),
    }
    for reason, token in bad.items():
        response = await gateway.me(bearer(token))
        assert response.status_code == 401, reason
        assert response.json()["error_code"] == "INVALID_TOKEN", reason


async def test_signing_out_refuses_the_providers_token_from_then_on(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    token = bearer(_idp_token(idp_key, gateway, jti=uuid.uuid4().hex))
    assert (await gateway.me(token)).status_code == 200
    assert (await gateway.client.post("/api/v1/auth/logout", headers=token)).status_code == 204
    refused = await gateway.me(token)
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "INVALID_TOKEN"

    without_id = bearer(_idp_token(idp_key, gateway))
    assert (await gateway.client.post("/api/v1/auth/logout", headers=without_id)).status_code == 403
