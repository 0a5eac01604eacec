"""Access tokens (signed JWTs, short-lived) and refresh tokens (random, stored hashed)."""

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import jwt

from shared.auth import Identity
from shared.errors import Unauthorized

ACCESS_ALGORITHM = "HS256"
ISSUER = "travel-gateway"


def issue_access_token(identity: Identity, *, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": str(identity.user_id),
        "email": identity.email,
        "roles": list(identity.roles),
        "iss": ISSUER,
        "typ": "access",
        "jti": uuid4().hex,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ACCESS_ALGORITHM)


def verify_access_token(token: str, *, secret: str, now: datetime) -> Identity:
    try:
        # Expiry is checked against the injected clock, not the library's own.
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ACCESS_ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"], "verify_exp": False, "verify_iat": False},
        )
        if claims.get("typ") != "access":
            raise jwt.InvalidTokenError("not an access token")
        if int(claims["exp"]) <= now.timestamp():
            raise jwt.ExpiredSignatureError("expired")
        return Identity(user_id=UUID(claims["sub"]), email=str(claims["email"]), roles=tuple(claims["roles"]))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized("The access token is invalid or expired.", error_code="INVALID_TOKEN") from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    # A refresh token is 256 random bits, so a fast hash is enough to keep it unusable at rest.
    return hashlib.sha256(token.encode()).hexdigest()


def identity_from_authorization(authorization: str | None, *, secret: str, now: datetime) -> Identity | None:
    """The identity of a `Bearer` access token; None without one; 401 for a bad one."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use an `Authorization: Bearer <access token>` header.", error_code="INVALID_TOKEN")
    return verify_access_token(token.strip(), secret=secret, now=now)
