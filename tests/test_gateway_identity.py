"""The identity the gateway forwards is verified by each service with the gateway's JWKS: it
works through the whole platform, across a key rotation, and a forgery sent to a service
directly is refused. A service's own calls on someone's behalf are signed with its own key,
which it publishes, for one service at a time, and never as an admin."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.settings import GatewaySettings
from shared.auth import GATEWAY_ISSUER, INTERNAL_IDENTITY_HEADER, SERVICE_JWKS_PATH, sign_gateway_identity
from shared.identity import Identity
from shared.testing import development_signer
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
    claims = {"sub": str(eve.user_id), "email": eve.email, "roles": ["admin"], "aud": "booking"}
    forgeries = {
        "a key not in the JWKS, under the gateway's kid": sign_gateway_identity(
            eve, private_key=stranger, kid=kid, audience="booking", now=now, ttl=timedelta(minutes=1)
        ),
        "a key not in the JWKS, under its own kid": sign_gateway_identity(
            eve, private_key=stranger, kid="eves-key", audience="booking", now=now, ttl=timedelta(minutes=1)
        ),
        "HS256 with the old shared secret's development value, claiming to be the gateway": jwt.encode(
            claims | {"iss": GATEWAY_ISSUER, "iat": now, "exp": now + timedelta(minutes=1)},
            "dev-internal-secret-change-me-0123456789",
            algorithm="HS256",
        ),
    }
    with httpx.Client(base_url=platform.url("booking"), timeout=10) as booking:
        for forgery, token in forgeries.items():
            refused = booking.get("/bookings", headers={INTERNAL_IDENTITY_HEADER: token})
            assert refused.status_code == 401, forgery
            assert refused.json()["error_code"] == "UNAUTHORIZED", forgery


def test_a_token_signed_with_bookings_key_reaches_only_its_audience_and_never_as_an_admin(
    platform: PlatformPorts,
) -> None:
    booking_key = development_signer("booking")
    with httpx.Client(timeout=10) as client:
        published = client.get(f"{platform.url('booking')}{SERVICE_JWKS_PATH}").json()["keys"]
        assert [key["kid"] for key in published] == [booking_key.kid]
        assert all("d" not in key for key in published)

        provider = Identity(user_id=uuid.uuid4(), email="p@example.com", roles=("provider", "admin"))
        for_payment = booking_key.acting_as(provider, audience="payment")
        earnings = client.get(f"{platform.url('payment')}/providers/me/earnings", headers=for_payment)
        assert earnings.status_code == 200, earnings.text
        # Signed for payment: inventory refuses it; analytics trusts no service's key.
        assert client.get(f"{platform.url('inventory')}/holds/{uuid.uuid4()}", headers=for_payment).status_code == 401
        for_analytics = booking_key.acting_as(provider, audience="analytics")
        revenue = client.get(
            f"{platform.url('analytics')}/analytics/revenue",
            params={"from": "2031-01-01", "to": "2031-01-02"},
            headers=for_analytics,
        )
        assert revenue.status_code == 401, revenue.text

        # Booking acts for the provider without the admin role it holds: inventory's admin
        # routes are forbidden to it, and a token its key signs claiming admin is no identity.
        blackout = {"start_date": "2031-01-01", "end_date": "2031-01-02", "reason": "storm"}
        as_provider = booking_key.acting_as(provider, audience="inventory")
        assert (
            client.post(f"{platform.url('inventory')}/admin/blackouts", json=blackout, headers=as_provider).status_code
            == 403
        )
        now = datetime.now(UTC)
        claims = {"sub": str(provider.user_id), "email": provider.email, "iat": now, "exp": now + timedelta(minutes=1)}
        forged = {
            "admin": claims | {"roles": ["admin"], "iss": "booking", "aud": "inventory"},
            "as another issuer": claims | {"roles": ["traveler"], "iss": "payment", "aud": "inventory"},
            "expired": claims
            | {"roles": ["traveler"], "iss": "booking", "aud": "inventory", "exp": now - timedelta(seconds=1)},
        }
        for forgery, forged_claims in forged.items():
            token = jwt.encode(
                forged_claims, booking_key.private_key, algorithm="EdDSA", headers={"kid": booking_key.kid}
            )
            refused = client.post(
                f"{platform.url('inventory')}/admin/blackouts", json=blackout, headers={INTERNAL_IDENTITY_HEADER: token}
            )
            assert refused.status_code == 401, forgery


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
