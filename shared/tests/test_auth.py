"""How a service checks the identity it is sent: addressed to it, from the gateway (its JWKS
cached, fetched again for a new key, at a bounded rate) or from a service it trusts, with only
the roles that service may act as; EdDSA only."""

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from devstack.infra import free_port
from shared.auth import (
    GATEWAY_ISSUER,
    SERVICE_ROLES,
    IdentityVerifier,
    JwksCache,
    KeySource,
    ServiceSigner,
    TrustedIssuer,
    sign_gateway_identity,
)
from shared.errors import ServiceUnavailable, Unauthorized
from shared.identity import ROLES, Identity
from shared.testing import StaticKeys, development_signer, trusted_development_key

SECRET = "a-shared-secret-someone-might-try-0123456789"
GATEWAY_KEY = Ed25519PrivateKey.generate()
IDENTITY = Identity(user_id=uuid.uuid4(), email="ana@example.com", roles=("traveler",))
TTL = timedelta(minutes=1)


def _jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


def _gateway_token(key: Ed25519PrivateKey, kid: str, *, audience: str = "booking") -> str:
    return sign_gateway_identity(IDENTITY, private_key=key, kid=kid, audience=audience, now=datetime.now(UTC), ttl=TTL)


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


def _gateway(keys: KeySource) -> IdentityVerifier:
    """Booking's verifier of the gateway's tokens, with the gateway's keys from `keys`."""
    return IdentityVerifier(audience="booking", issuers={GATEWAY_ISSUER: TrustedIssuer(keys, roles=None)})


def _verify(token: str, cache: JwksCache) -> Awaitable[Identity]:
    return _gateway(cache).verify(token)


def _service_verifier(service: str, *, trusting: tuple[str, ...] = ("booking",)) -> IdentityVerifier:
    """The verifier of `service` trusting the development keys of `trusting`."""
    gateway_jwk = _jwk("gateway-key", GATEWAY_KEY)
    issuers = {GATEWAY_ISSUER: TrustedIssuer(StaticKeys([gateway_jwk]), roles=None)}
    issuers |= {caller: trusted_development_key(caller) for caller in trusting}
    return IdentityVerifier(audience=service, issuers=issuers)


def _claims(roles: list[str], **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"sub": str(IDENTITY.user_id), "email": IDENTITY.email, "roles": roles, "iat": now, "exp": now + TTL}
    return claims | {"iss": "booking", "aud": "inventory"} | overrides


def _signed_by_booking(claims: dict[str, Any]) -> str:
    booking = development_signer("booking")
    return jwt.encode(claims, booking.private_key, algorithm="EdDSA", headers={"kid": booking.kid})


async def test_a_gateway_token_verifies_with_the_key_its_kid_names_only() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = _gateway_token(key, "k1")
    assert await _gateway(StaticKeys([_jwk("k1", key)])).verify(token) == IDENTITY
    for keys in ([], [_jwk("k2", key)], [_jwk("k1", other)]):
        with pytest.raises(Unauthorized):
            await _gateway(StaticKeys(keys)).verify(token)


async def test_a_gateway_token_is_accepted_only_by_the_service_it_is_addressed_to() -> None:
    token = _gateway_token(GATEWAY_KEY, "gateway-key", audience="inventory")
    assert await _service_verifier("inventory").verify(token) == IDENTITY
    for service in ("booking", "payment", "notification"):
        with pytest.raises(Unauthorized):
            await _service_verifier(service).verify(token)


async def test_a_service_token_is_accepted_only_by_its_audience_and_by_services_that_trust_its_issuer() -> None:
    token = development_signer("booking").sign(IDENTITY, audience="inventory", now=datetime.now(UTC))
    assert await _service_verifier("inventory").verify(token) == IDENTITY
    with pytest.raises(Unauthorized):
        await _service_verifier("payment").verify(token)
    for_notification = development_signer("booking").sign(IDENTITY, audience="notification", now=datetime.now(UTC))
    with pytest.raises(Unauthorized):
        await _service_verifier("notification", trusting=()).verify(for_notification)


async def test_a_service_signs_only_the_roles_it_may_act_as_and_never_admin() -> None:
    admin_and_provider = Identity(user_id=IDENTITY.user_id, email=IDENTITY.email, roles=("admin", "provider"))
    token = development_signer("booking").sign(admin_and_provider, audience="inventory", now=datetime.now(UTC))
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["provider"]
    assert (await _service_verifier("inventory").verify(token)).roles == ("provider",)


@given(roles=st.lists(st.sampled_from(ROLES), unique=True))
async def test_a_token_signed_with_a_service_key_carrying_admin_is_refused(roles: list[str]) -> None:
    token = _signed_by_booking(_claims(roles))
    verifier = _service_verifier("inventory")
    if "admin" in roles:
        with pytest.raises(Unauthorized):
            await verifier.verify(token)
    else:
        assert (await verifier.verify(token)).roles == tuple(roles)


def _forgeries() -> dict[str, dict[str, Any]]:
    """Tokens booking's key could sign that inventory must refuse, made when a test runs."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    return {
        "as the gateway": _claims(["traveler"], iss=GATEWAY_ISSUER),
        "as payment, which inventory does not trust": _claims(["traveler"], iss="payment"),
        "for payment": _claims(["traveler"], aud="payment"),
        "for every service": _claims(["traveler"], aud="platform-internal"),
        "expired": _claims(["traveler"], iat=an_hour_ago, exp=an_hour_ago + TTL),
        "without an expiry": {key: value for key, value in _claims(["traveler"]).items() if key != "exp"},
        "with roles that are not a list": _claims(["traveler"]) | {"roles": "traveler"},
    }


@pytest.mark.parametrize("forgery", _forgeries())
async def test_a_service_key_cannot_pass_for_another_issuer_or_audience_or_outlive_its_expiry(forgery: str) -> None:
    verifier = _service_verifier("inventory", trusting=("booking",))
    with pytest.raises(Unauthorized):
        await verifier.verify(_signed_by_booking(_forgeries()[forgery]))
    assert await verifier.verify(_signed_by_booking(_claims(["traveler"]))) == IDENTITY


async def test_a_token_signed_with_another_key_under_a_service_kid_is_refused() -> None:
    booking = development_signer("booking")
    stranger = Ed25519PrivateKey.generate()
    token = jwt.encode(_claims(["traveler"]), stranger, algorithm="EdDSA", headers={"kid": booking.kid})
    with pytest.raises(Unauthorized):
        await _service_verifier("inventory").verify(token)


def test_only_services_that_act_for_someone_may_be_trusted_as_callers() -> None:
    with pytest.raises(ValueError, match="notification"):
        IdentityVerifier.for_service("inventory", gateway_jwks_url="http://gw", caller_jwks_urls={"notification": "x"})
    with pytest.raises(ValueError, match="acts for no one"):
        ServiceSigner("notification", Ed25519PrivateKey.generate())
    assert all("admin" not in roles for roles in SERVICE_ROLES.values())


async def test_hs256_with_any_secret_is_refused_whoever_it_claims_to_be() -> None:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": str(IDENTITY.user_id), "email": IDENTITY.email, "roles": ["traveler"]}
    claims |= {"aud": "inventory", "iat": now, "exp": now + TTL}
    for issuer in (GATEWAY_ISSUER, "booking", "platform-service"):
        token = jwt.encode(claims | {"iss": issuer}, SECRET, algorithm="HS256", headers={"kid": "gateway-key"})
        with pytest.raises(Unauthorized):
            await _service_verifier("inventory").verify(token)


async def test_alg_none_and_the_public_key_as_an_hmac_secret_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC).timestamp()
    claims: dict[str, Any] = {"sub": str(IDENTITY.user_id), "email": "eve@example.com", "roles": ["admin"]}
    claims |= {"aud": "booking", "iss": GATEWAY_ISSUER, "iat": now, "exp": now + 60}
    unsigned = f"{_segment({'alg': 'none', 'kid': 'k1'})}.{_segment(claims)}."
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'kid': 'k1'})}.{_segment(claims)}"
    mac = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    confused = f"{signing_input}.{mac.rstrip(b'=').decode()}"
    for token in (unsigned, confused, "not.a.token", ""):
        with pytest.raises(Unauthorized):
            await _gateway(StaticKeys([_jwk("k1", key)])).verify(token)


async def test_the_jwks_is_fetched_once_and_again_only_for_a_new_key(jwks_server: JwksServer) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("old", old)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0)
    for _ in range(3):
        assert await _verify(_gateway_token(old, "old"), cache) == IDENTITY
    assert jwks_server.fetches == 1

    jwks_server.keys = [_jwk("new", new), _jwk("old", old)]
    assert await _verify(_gateway_token(new, "new"), cache) == IDENTITY
    assert jwks_server.fetches == 2


async def test_a_new_key_is_fetched_at_once_even_just_after_a_routine_refresh(jwks_server: JwksServer) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("old", old)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=60, max_age_seconds=0)
    assert await _verify(_gateway_token(old, "old"), cache) == IDENTITY

    jwks_server.keys = [_jwk("new", new), _jwk("old", old)]

    assert await _verify(_gateway_token(new, "new"), cache) == IDENTITY
    assert jwks_server.fetches == 2


async def test_a_key_published_just_after_a_look_up_is_found_once_the_interval_has_passed(
    jwks_server: JwksServer,
) -> None:
    real, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", real)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0.3)
    assert await cache.get("real") is not None
    with pytest.raises(Unauthorized):
        await _verify(_gateway_token(Ed25519PrivateKey.generate(), "made-up"), cache)

    jwks_server.keys = [_jwk("new", new), _jwk("real", real)]

    assert await _verify(_gateway_token(new, "new"), cache) == IDENTITY
    assert jwks_server.fetches == 3


async def test_tokens_naming_made_up_keys_cost_one_fetch_per_interval(jwks_server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", key)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=60)
    forged = [_gateway_token(Ed25519PrivateKey.generate(), f"made-up-{n}") for n in range(50)]
    outcomes = await asyncio.gather(
        *(_verify(token, cache) for token in forged),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, Unauthorized) for outcome in outcomes)
    assert jwks_server.fetches == 1
    assert await _verify(_gateway_token(key, "real"), cache) == IDENTITY
    assert jwks_server.fetches == 1


async def test_a_jwks_that_cannot_be_read_is_503_and_known_keys_keep_working(jwks_server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    jwks_server.keys = [_jwk("real", key)]
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0, max_age_seconds=0)
    assert await cache.get("real") is not None
    jwks_server.down = True
    assert await _verify(_gateway_token(key, "real"), cache) == IDENTITY
    with pytest.raises(ServiceUnavailable):
        await _verify(_gateway_token(key, "unknown"), cache)

    unreachable = JwksCache(f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(ServiceUnavailable) as raised:
        await _verify(_gateway_token(key, "real"), unreachable)
    assert raised.value.error_code == "DEPENDENCY_UNAVAILABLE"
