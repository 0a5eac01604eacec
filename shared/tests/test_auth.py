"""How a service checks the identity it is sent: the gateway's tokens with the gateway's JWKS
(cached, fetched again for a new key, at a bounded rate), a service's with the internal secret,
each only with its own algorithm and issuer."""

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from devstack.infra import free_port
from shared.auth import (
    GATEWAY_ISSUER,
    INTERNAL_AUDIENCE,
    Identity,
    JwksCache,
    sign_gateway_identity,
    sign_internal_identity,
    verify_identity_token,
    verify_internal_identity,
)
from shared.errors import ServiceUnavailable, Unauthorized

SECRET = "the-internal-secret-of-these-tests-0123456789"
IDENTITY = Identity(user_id=uuid.uuid4(), email="ana@example.com", roles=("traveler",))
TTL = timedelta(minutes=1)


def _jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


def _gateway_token(key: Ed25519PrivateKey, kid: str, identity: Identity = IDENTITY) -> str:
    return sign_gateway_identity(identity, private_key=key, kid=kid, now=datetime.now(UTC), ttl=TTL)


def _segment(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, default=str).encode()).rstrip(b"=").decode()


@dataclass
class JwksServer:
    """A JWKS endpoint that counts its fetches; its keys can change, as at a rotation."""

    keys: list[dict[str, str]]
    url: str = ""
    fetches: int = 0
    down: bool = False
    server: uvicorn.Server | None = field(default=None, repr=False)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks.json")
        async def jwks() -> dict[str, Any]:
            self.fetches += 1
            if self.down:
                raise RuntimeError("down")
            return {"keys": self.keys}

        return app


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    served = JwksServer(keys=[])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(served.app(), host="127.0.0.1", port=port, log_level="critical"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    served.url = f"http://127.0.0.1:{port}/jwks.json"
    yield served
    server.should_exit = True
    await task


def test_a_gateway_token_verifies_with_the_key_its_kid_names_only() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = _gateway_token(key, "k1")
    assert verify_internal_identity(token, secret=SECRET, gateway_keys={"k1": key.public_key()}) == IDENTITY
    for keys in ({}, {"k2": key.public_key()}, {"k1": other.public_key()}):
        with pytest.raises(Unauthorized):
            verify_internal_identity(token, secret=SECRET, gateway_keys=keys)


def test_a_service_token_verifies_with_the_internal_secret_only() -> None:
    token = sign_internal_identity(IDENTITY, secret=SECRET, now=datetime.now(UTC), ttl=TTL)
    assert verify_internal_identity(token, secret=SECRET) == IDENTITY
    with pytest.raises(Unauthorized):
        verify_internal_identity(token, secret="another-secret-that-is-long-enough-000")


def test_each_algorithm_is_accepted_only_with_its_own_issuer() -> None:
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": str(IDENTITY.user_id), "email": IDENTITY.email, "roles": ["admin"]}
    claims |= {"aud": INTERNAL_AUDIENCE}
    claims |= {"iat": now, "exp": now + TTL}
    hs256_as_gateway = jwt.encode(claims | {"iss": GATEWAY_ISSUER}, SECRET, algorithm="HS256")
    eddsa_as_service = jwt.encode(claims | {"iss": "platform-service"}, key, algorithm="EdDSA", headers={"kid": "k1"})
    for token in (hs256_as_gateway, eddsa_as_service):
        with pytest.raises(Unauthorized):
            verify_internal_identity(token, secret=SECRET, gateway_keys={"k1": key.public_key()})


def test_alg_none_and_the_public_key_as_an_hmac_secret_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC).timestamp()
    claims: dict[str, Any] = {"sub": str(IDENTITY.user_id), "email": "eve@example.com", "roles": ["admin"]}
    claims |= {"aud": INTERNAL_AUDIENCE, "iss": GATEWAY_ISSUER, "iat": now, "exp": now + 60}
    unsigned = f"{_segment({'alg': 'none', 'kid': 'k1'})}.{_segment(claims)}."
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'kid': 'k1'})}.{_segment(claims)}"
    mac = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    confused = f"{signing_input}.{mac.rstrip(b'=').decode()}"
    for token in (unsigned, confused, "not.a.token", ""):
        with pytest.raises(Unauthorized):
            verify_internal_identity(token, secret=SECRET, gateway_keys={"k1": key.public_key()})


async def test_the_jwks_is_fetched_once_and_again_only_for_a_new_key(jwks_server: JwksServer) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("old", old)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0)
    for _ in range(3):
        assert await verify_identity_token(_gateway_token(old, "old"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    assert jwks_server.fetches == 1

    jwks_server.keys = [_jwk("new", new), _jwk("old", old)]
    assert await verify_identity_token(_gateway_token(new, "new"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    assert jwks_server.fetches == 2


async def test_a_new_key_is_fetched_at_once_even_just_after_a_routine_refresh(jwks_server: JwksServer) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("old", old)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=60, max_age_seconds=0)
    assert await verify_identity_token(_gateway_token(old, "old"), secret=SECRET, gateway_jwks=cache) == IDENTITY

    jwks_server.keys = [_jwk("new", new), _jwk("old", old)]

    assert await verify_identity_token(_gateway_token(new, "new"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    assert jwks_server.fetches == 2


async def test_a_key_published_just_after_a_look_up_is_found_once_the_interval_has_passed(
    jwks_server: JwksServer,
) -> None:
    real, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", real)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0.3)
    assert await cache.get("real") is not None
    with pytest.raises(Unauthorized):
        await verify_identity_token(
            _gateway_token(Ed25519PrivateKey.generate(), "made-up"), secret=SECRET, gateway_jwks=cache
        )

    jwks_server.keys = [_jwk("new", new), _jwk("real", real)]

    assert await verify_identity_token(_gateway_token(new, "new"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    assert jwks_server.fetches == 3


async def test_tokens_naming_made_up_keys_cost_one_fetch_per_interval(jwks_server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", key)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=60)
    forged = [_gateway_token(Ed25519PrivateKey.generate(), f"made-up-{n}") for n in range(50)]
    outcomes = await asyncio.gather(
        *(verify_identity_token(token, secret=SECRET, gateway_jwks=cache) for token in forged),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, Unauthorized) for outcome in outcomes)
    assert jwks_server.fetches == 1
    assert await verify_identity_token(_gateway_token(key, "real"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    assert jwks_server.fetches == 1


async def test_a_jwks_that_cannot_be_read_is_503_and_known_keys_keep_working(jwks_server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", key)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0, max_age_seconds=0)
    assert await cache.get("real") is not None
    jwks_server.down = True
    assert await verify_identity_token(_gateway_token(key, "real"), secret=SECRET, gateway_jwks=cache) == IDENTITY
    with pytest.raises(ServiceUnavailable):
        await verify_identity_token(_gateway_token(key, "unknown"), secret=SECRET, gateway_jwks=cache)

    unreachable = JwksCache(f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(ServiceUnavailable) as raised:
        await verify_identity_token(_gateway_token(key, "real"), secret=SECRET, gateway_jwks=unreachable)
    assert raised.value.error_code == "DEPENDENCY_UNAVAILABLE"
