"""The JWKS, the signing keys at rest, and key rotation across gateway processes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from gateway.identity.models import SigningKey
from gateway.tests.gateways import Gateway, bearer, running_gateway
from shared.auth import INTERNAL_IDENTITY_HEADER, public_jwk
from shared.errors import Unauthorized
from shared.identity import Identity
from shared.testing import gateway_verifier


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    async with running_gateway(database_url, redis_url, bootstrap_servers) as running:
        yield running


async def _jwks(gateway: Gateway) -> list[dict[str, Any]]:
    response = await gateway.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys: list[dict[str, Any]] = response.json()["keys"]
    return keys


async def _kids(gateway: Gateway) -> set[str]:
    return {key["kid"] for key in await _jwks(gateway)}


async def test_the_jwks_publishes_the_public_half_of_each_live_key_and_verifies_tokens(gateway: Gateway) -> None:
    response = await gateway.client.get("/.well-known/jwks.json")
    assert response.headers["cache-control"].startswith("public")
    keys = response.json()["keys"]
    assert keys == (await gateway.client.get("/api/v1/auth/jwks")).json()["keys"]
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}, "never the private part `d`"
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")

    access = (await gateway.tokens((await gateway.register())["email"]))["access_token"]
    kid = jwt.get_unverified_header(access)["kid"]
    assert kid == keys[0]["kid"], "the active key comes first"
    public_key = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(access, public_key, algorithms=["EdDSA"], audience="travel-api")
    assert claims["typ"] == "access"


async def test_the_forwarded_identity_verifies_with_the_jwks_only(gateway: Gateway) -> None:
    identity = Identity(user_id=uuid.uuid4(), email="a@example.com", roles=("traveler",))
    name, token = gateway.authenticator.identity_header(identity, audience="booking")
    assert name == INTERNAL_IDENTITY_HEADER
    assert await gateway_verifier(await _jwks(gateway), audience="booking").verify(token) == identity
    with pytest.raises(Unauthorized):
        await gateway_verifier(await _jwks(gateway), audience="inventory").verify(token)
    with pytest.raises(Unauthorized):
        await gateway_verifier(
            [public_jwk(Ed25519PrivateKey.generate().public_key(), kid=jwt.get_unverified_header(token)["kid"])],
            audience="booking",
        ).verify(token)


async def test_private_keys_are_stored_encrypted(gateway: Gateway) -> None:
    active = gateway.authenticator.key_ring.active()
    raw_private = active.private_key.private_bytes_raw()
    async with gateway.app.state.resources.session_factory() as session:
        stored = await session.get_one(SigningKey, active.kid)
    assert raw_private not in stored.encrypted_private_key
    assert stored.public_key == next(key["x"] for key in await _jwks(gateway) if key["kid"] == active.kid)


async def test_only_an_admin_rotates_keys(gateway: Gateway) -> None:
    provider = await gateway.signed_up(role="provider")
    refused = await gateway.client.post("/api/v1/auth/signing-keys/rotate", headers=provider)
    assert refused.status_code == 403
    assert (await gateway.client.get("/api/v1/auth/signing-keys", headers=provider)).status_code == 403
    assert (await gateway.client.post("/api/v1/auth/signing-keys/rotate")).status_code == 401


async def test_a_rotated_key_verifies_until_its_last_token_expires_then_retires(gateway: Gateway) -> None:
    admin = await gateway.admin()
    user = await gateway.register()
    old = await gateway.tokens(user["email"])
    old_kid = jwt.get_unverified_header(old["access_token"])["kid"]

    rotated = await gateway.client.post("/api/v1/auth/signing-keys/rotate", headers=admin)
    assert rotated.status_code == 201
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid
    assert rotated.json()["superseded_at"] is None
    assert await _kids(gateway) >= {old_kid, new_kid}

    new = await gateway.tokens(user["email"])
    assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
    listed = (await gateway.client.get("/api/v1/auth/signing-keys", headers=bearer(new["access_token"]))).status_code
    assert listed == 403
    keys = (await gateway.client.get("/api/v1/auth/signing-keys", headers=admin)).json()["items"]
    assert keys[0]["kid"] == new_kid
    superseded = next(key for key in keys if key["kid"] == old_kid)
    assert superseded["verify_until"] is not None

    gateway.clock.advance(timedelta(seconds=gateway.settings.access_token_ttl_seconds - 1))
    assert (await gateway.me(bearer(old["access_token"]))).status_code == 200, "the old key still verifies"
    assert old_kid in await _kids(gateway)

    # Past the last token the old key can have signed (and the processes' reload time), it retires.
    gateway.clock.advance(timedelta(seconds=gateway.settings.signing_key_cache_seconds + 62))
    assert old_kid not in await _kids(gateway)
    assert new_kid in await _kids(gateway)
    assert (await gateway.me(bearer(old["access_token"]))).status_code == 401


async def test_every_process_signs_with_the_new_key_after_its_cache_time_and_its_tokens_stay_valid(
    gateway: Gateway, database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    user = await gateway.register()
    async with running_gateway(database_url, redis_url, bootstrap_servers, clock=gateway.clock) as other:
        old_kid = other.authenticator.key_ring.active().kid
        rotated = await gateway.client.post("/api/v1/auth/signing-keys/rotate", headers=await gateway.admin())
        new_kid = rotated.json()["kid"]

        # The other process has not reloaded yet: it still signs with the old key...
        gateway.clock.advance(timedelta(seconds=gateway.settings.signing_key_cache_seconds - 1))
        late = await other.tokens(user["email"])
        assert jwt.get_unverified_header(late["access_token"])["kid"] == old_kid
        # ...and what it signed verifies everywhere until it expires.
        gateway.clock.advance(timedelta(seconds=gateway.settings.access_token_ttl_seconds - 1))
        assert (await gateway.me(bearer(late["access_token"]))).status_code == 200
        assert (await other.me(bearer(late["access_token"]))).status_code == 200
        fresh = await other.tokens(user["email"])
        assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_kid


async def test_a_token_signed_by_a_key_another_process_just_made_is_accepted(
    gateway: Gateway, database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    user = await gateway.register()
    async with running_gateway(database_url, redis_url, bootstrap_servers, clock=gateway.clock) as other:
        await other.client.post("/api/v1/auth/signing-keys/rotate", headers=await other.admin())
        access = bearer((await other.tokens(user["email"]))["access_token"])
        # The first process learns of the key when a token names it (at most once a second).
        gateway.clock.advance(timedelta(seconds=gateway.settings.signing_key_reload_seconds))
        assert (await gateway.me(access)).status_code == 200


async def test_concurrent_rotations_in_two_processes_leave_one_active_key(
    gateway: Gateway, database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    async with running_gateway(database_url, redis_url, bootstrap_servers, clock=gateway.clock) as other:
        admins = [(running, await running.admin()) for running in (gateway, other, gateway, other)]
        answers = await asyncio.gather(
            *(running.client.post("/api/v1/auth/signing-keys/rotate", headers=admin) for running, admin in admins)
        )
    assert [answer.status_code for answer in answers] == [201] * 4
    async with gateway.app.state.resources.session_factory() as session:
        active = (await session.scalars(select(SigningKey.kid).where(SigningKey.superseded_at.is_(None)))).all()
    assert len(active) == 1
    assert active[0] in {answer.json()["kid"] for answer in answers}
