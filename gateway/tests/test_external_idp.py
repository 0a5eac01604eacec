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

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from sqlalchemy import func, select

from devstack.infra import free_port
from gateway.identity.models import ExternalIdentity
from gateway.tests.gateways import ADMIN_EMAIL, Gateway, bearer, running_gateway
from shared.app import AppResources

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


async def _linked_identities(gateway: Gateway) -> int:
    resources: AppResources = gateway.app.state.resources
    async with resources.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(ExternalIdentity)) or 0)


def _refused(response: httpx.Response, error_code: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == error_code


async def test_a_verified_email_links_to_the_local_account_only_once_its_owner_verified_it_too(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    local = await gateway.register()
    before = await _linked_identities(gateway)
    _refused(await gateway.me(bearer(_idp_token(idp_key, gateway, email=local["email"]))), "ACCOUNT_NOT_LINKABLE")
    assert await _linked_identities(gateway) == before, "a refusal links nothing"

    token = await gateway.emailed_token(local["email"], "identity.email_verification_requested")
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    verified = await gateway.me(bearer(_idp_token(idp_key, gateway, email=local["email"])))
    assert verified.status_code == 200, verified.text
    assert verified.json()["id"] == local["id"]


async def test_an_account_registered_first_by_someone_else_is_not_taken_over_by_the_address_owner(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    """Pre-hijacking: an attacker registers the victim's address (never verified, as the
    verification goes to the victim), hoping the victim later signs in with the identity
    provider and lands in the attacker's account, whose password the attacker knows."""
    victim_email = f"victim-{uuid.uuid4().hex[:10]}@example.com"
    attacker = await gateway.register(victim_email)
    attacker_session = bearer((await gateway.tokens(victim_email))["access_token"])

    victim = await gateway.me(bearer(_idp_token(idp_key, gateway, email=victim_email)))
    _refused(victim, "ACCOUNT_NOT_LINKABLE")
    account = await gateway.account(victim_email)
    assert account is not None
    assert (str(account.id), account.email_verified_at) == (attacker["id"], None)

    # The victim takes the address back by resetting the password through their mailbox:
    # the attacker's password and sessions are gone, and the provider's identity links.
    await gateway.client.post("/api/v1/auth/password-reset", json={"email": victim_email})
    token = await gateway.emailed_token(victim_email, "identity.password_reset_requested")
    reset = await gateway.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "the victim's own password"}
    )
    assert reset.status_code == 200
    assert (await gateway.me(attacker_session)).status_code == 401
    assert (await gateway.sign_in(victim_email)).status_code == 401
    assert (await gateway.me(bearer(_idp_token(idp_key, gateway, email=victim_email)))).status_code == 200


async def test_an_unverified_email_claim_never_links_nor_makes_an_account(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    local = await gateway.register()
    token = await gateway.emailed_token(local["email"], "identity.email_verification_requested")
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    before = await _linked_identities(gateway)
    free_email = f"free-{uuid.uuid4().hex[:10]}@example.com"

    # The same answer whether an account has the address or not.
    for email in (local["email"], free_email):
        unverified = await gateway.me(bearer(_idp_token(idp_key, gateway, email=email, email_verified=False)))
        _refused(unverified, "IDP_EMAIL_NOT_VERIFIED")
    assert await _linked_identities(gateway) == before
    assert await gateway.account(free_email) is None


async def test_an_admin_account_is_never_linked_even_with_its_email_verified(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    # The admin proves the address through their mailbox (keeping the password other tests use).
    await gateway.client.post("/api/v1/auth/password-reset", json={"email": ADMIN_EMAIL})
    token = await gateway.emailed_token(ADMIN_EMAIL, "identity.password_reset_requested")
    reset = await gateway.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": gateway.settings.bootstrap_admin_password},
    )
    assert reset.status_code == 200
    admin = await gateway.account(ADMIN_EMAIL)
    assert admin is not None
    assert admin.email_verified_at is not None
    before = await _linked_identities(gateway)

    _refused(await gateway.me(bearer(_idp_token(idp_key, gateway, email=ADMIN_EMAIL))), "ACCOUNT_NOT_LINKABLE")
    assert await _linked_identities(gateway) == before


async def test_the_first_sight_of_a_user_from_concurrent_requests_makes_one_account(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    token = bearer(_idp_token(idp_key, gateway))
    answers = await asyncio.gather(*(gateway.me(token) for _ in range(5)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    [announced] = await gateway.account_changes(answers[0].json()["id"])
    assert (announced["roles"], announced["email_verified"], announced["locale"]) == (["traveler"], True, "en")


async def test_an_account_made_for_an_external_identity_is_announced_once_and_linking_announces_nothing(
    gateway: Gateway, idp_key: rsa.RSAPrivateKey
) -> None:
    subject = uuid.uuid4().hex
    first = (await gateway.me(bearer(_idp_token(idp_key, gateway, sub=subject, name="Ines Lobo")))).json()
    await gateway.me(bearer(_idp_token(idp_key, gateway, sub=subject)))
    [announced] = await gateway.account_changes(first["id"])
    assert {key: value for key, value in announced.items() if key != "changed_at"} == {
        "user_id": first["id"],
        "email": first["email"],
        "name": "Ines Lobo",
        "roles": ["traveler"],
        "locale": "en",
        "email_verified": True,
    }

    owner = await gateway.register()
    token = await gateway.emailed_token(owner["email"], "identity.email_verification_requested")
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    linked = await gateway.me(bearer(_idp_token(idp_key, gateway, email=owner["email"])))
    assert linked.json()["id"] == owner["id"]
    assert [event["email_verified"] for event in await gateway.account_changes(owner["id"])] == [False, True]


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
