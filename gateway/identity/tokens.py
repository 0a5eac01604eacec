"""Access tokens (EdDSA JWTs with the signing key's `kid`, short-lived) and refresh tokens
(random, stored hashed)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.identity.signing_keys import ALGORITHM, ActiveKey
from shared.errors import Unauthorized
from shared.identity import Identity

ISSUER = "travel-gateway"
AUDIENCE = "travel-api"


@dataclass(frozen=True)
class AccessClaims:
    identity: Identity
    token_id: str
    # The refresh token family the token was issued in: signing out ends it.
    session_id: UUID
    expires_at: datetime


def invalid_token(message: str = "The access token is invalid or expired.") -> Unauthorized:
    return Unauthorized(message, error_code="INVALID_TOKEN")


def issue_access_token(identity: Identity, *, session_id: UUID, key: ActiveKey, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": str(identity.user_id),
        "email": identity.email,
        "roles": list(identity.roles),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": "access",
        "jti": uuid4().hex,
        "sid": str(session_id),
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def unverified_header_and_issuer(token: str) -> tuple[dict[str, Any], object]:
    """What a token says about itself before it is verified: enough to pick the key."""
    try:
        header = jwt.get_unverified_header(token)
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise invalid_token() from None
    return header, issuer


def verify_access_token(token: str, *, public_key: Ed25519PublicKey, now: datetime) -> AccessClaims:
    try:
        # Expiry is checked against the injected clock, not the library's own.
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={
                "require": ["sub", "exp", "iat", "iss", "aud", "jti", "sid"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
        if claims.get("typ") != "access":
            raise jwt.InvalidTokenError("not an access token")
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if expires_at <= now:
            raise jwt.ExpiredSignatureError("expired")
        return AccessClaims(
            identity=Identity(user_id=UUID(claims["sub"]), email=str(claims["email"]), roles=tuple(claims["roles"])),
            token_id=str(claims["jti"]),
            session_id=UUID(claims["sid"]),
            expires_at=expires_at,
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise invalid_token() from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    # A refresh token is 256 random bits, so a fast hash is enough to keep it unusable at rest.
    return hashlib.sha256(token.encode()).hexdigest()
