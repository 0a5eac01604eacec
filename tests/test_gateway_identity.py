"""The identity the gateway forwards is verified by each service with the gateway's JWKS: it
works through the whole platform, across a key rotation, and a forgery sent to a service
directly is refused."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.settings import GatewaySettings
from shared.auth import GATEWAY_ISSUER, INTERNAL_AUDIENCE, INTERNAL_IDENTITY_HEADER, Identity, sign_gateway_identity
from shared.settings import AppSettings
from shared.testing import identity_headers
from tests.flows import LISTING, sign_in, sign_up
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _kid(headers: dict[str, str]) -> str:
    kid: str = jwt.get_unverified_header(headers["Authorization"].removeprefix("Bearer "))["kid"]
    return kid


def test_services_accept_the_identity_the_gateway_signs(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing = gateway.post("/api/v1/listings", json=LISTING, headers=provider)
    assert listing.status_code == 201, listing.text
    assert gateway.get("/api/v1/bookings", headers=traveler).status_code == 200

    jwks = gateway.get("/.well-known/jwks.json").json()["keys"]
    assert _kid(traveler) in {key["kid"] for key in jwks}
    assert all("d" not in key for key in jwks)


def test_a_service_called_directly_refuses_forged_identities(platform: PlatformPorts, gateway: httpx.Client) -> None:
    traveler = sign_up(gateway, "traveler")
    kid = _kid(traveler)
    eve = Identity(user_id=uuid.uuid4(), email="eve@example.com", roles=("admin",))
    now = datetime.now(UTC)
    stranger = Ed25519PrivateKey.generate()
    secret = AppSettings().internal_auth_secret
    claims = {"sub": str(eve.user_id), "email": eve.email, "roles": ["admin"], "aud": INTERNAL_AUDIENCE}
    forgeries = {
        "a key not in the JWKS, under the gateway's kid": sign_gateway_identity(
            eve, private_key=stranger, kid=kid, now=now, ttl=timedelta(minutes=1)
        ),
        "a key not in the JWKS, under its own kid": sign_gateway_identity(
            eve, private_key=stranger, kid="eves-key", now=now, ttl=timedelta(minutes=1)
        ),
        "HS256 with the internal secret, claiming to be the gateway": jwt.encode(
            claims | {"iss": GATEWAY_ISSUER, "iat": now, "exp": now + timedelta(minutes=1)}, secret, algorithm="HS256"
        ),
    }
    with httpx.Client(base_url=platform.url("booking"), timeout=10) as booking:
        for forgery, token in forgeries.items():
            refused = booking.get("/bookings", headers={INTERNAL_IDENTITY_HEADER: token})
            assert refused.status_code == 401, forgery
            assert refused.json()["error_code"] == "UNAUTHORIZED", forgery
        # A service's own call on someone's behalf still works: signed with the internal secret.
        on_behalf = booking.get("/bookings", headers=identity_headers(eve, secret=secret))
        assert on_behalf.status_code == 200


def test_after_a_key_rotation_tokens_of_both_keys_reach_the_services(gateway: httpx.Client) -> None:
    email = f"rotating-{uuid.uuid4().hex[:10]}@example.com"
    registered = gateway.post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery staple", "name": "R"}
    )
    assert registered.status_code == 202
    before = sign_in(gateway, email, "correct horse battery staple")
    assert gateway.get("/api/v1/bookings", headers=before).status_code == 200

    settings = GatewaySettings()
    admin = sign_in(gateway, settings.bootstrap_admin_email, settings.bootstrap_admin_password)
    rotated = gateway.post("/api/v1/auth/signing-keys/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text

    after = sign_in(gateway, email, "correct horse battery staple")
    assert _kid(after) == rotated.json()["kid"] != _kid(before)
    assert gateway.get("/api/v1/bookings", headers=after).status_code == 200
    assert gateway.get("/api/v1/bookings", headers=before).status_code == 200
    assert {_kid(before), _kid(after)} <= {key["kid"] for key in gateway.get("/.well-known/jwks.json").json()["keys"]}
