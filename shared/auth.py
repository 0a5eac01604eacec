"""Who is calling: the identity the gateway vouches for, and how a service checks it.

The gateway verifies the client's access token, then forwards the identity as a short-lived
JWT signed with the platform's internal secret (`X-Internal-Identity`). A service verifies that
signature itself, so no client can forge an identity by sending the header directly.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

import jwt
from fastapi import Depends, Request

from shared.errors import Forbidden, Unauthorized

Role = Literal["traveler", "provider", "expert", "admin"]
ROLES: tuple[Role, ...] = ("traveler", "provider", "expert", "admin")

INTERNAL_IDENTITY_HEADER = "X-Internal-Identity"
INTERNAL_AUDIENCE = "platform-internal"
INTERNAL_ISSUER = "gateway"
INTERNAL_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    user_id: UUID
    email: str
    roles: tuple[str, ...]

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def sign_internal_identity(identity: Identity, *, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": str(identity.user_id),
        "email": identity.email,
        "roles": list(identity.roles),
        "aud": INTERNAL_AUDIENCE,
        "iss": INTERNAL_ISSUER,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=INTERNAL_ALGORITHM)


def acting_as(identity: Identity, *, secret: str, ttl: timedelta = timedelta(minutes=1)) -> dict[str, str]:
    """The identity header for a call a service makes on someone's behalf (the traveler whose
    request a provider accepts, whose expert books, whose balance falls due). Signed on the
    real time, which the receiving service checks it by, whatever clock the caller runs on."""
    return {INTERNAL_IDENTITY_HEADER: sign_internal_identity(identity, secret=secret, now=datetime.now(UTC), ttl=ttl)}


def verify_internal_identity(token: str, *, secret: str) -> Identity:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[INTERNAL_ALGORITHM],
            audience=INTERNAL_AUDIENCE,
            issuer=INTERNAL_ISSUER,
            options={"require": ["sub", "exp", "aud", "iss"]},
        )
        return Identity(user_id=UUID(claims["sub"]), email=str(claims["email"]), roles=tuple(claims["roles"]))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized("The caller's identity could not be verified.") from None


def optional_identity(request: Request) -> Identity | None:
    token = request.headers.get(INTERNAL_IDENTITY_HEADER)
    if token is None:
        return None
    secret: str = request.app.state.resources.settings.internal_auth_secret
    return verify_internal_identity(token, secret=secret)


def current_identity(identity: Annotated[Identity | None, Depends(optional_identity)]) -> Identity:
    if identity is None:
        raise Unauthorized("Sign in to do this.")
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
OptionalIdentity = Annotated[Identity | None, Depends(optional_identity)]


def require_role(*roles: Role) -> Callable[[Identity], Identity]:
    """A dependency that lets through callers with any of `roles` (admins always)."""

    def check(identity: CurrentIdentity) -> Identity:
        if identity.is_admin or any(identity.has_role(role) for role in roles):
            return identity
        raise Forbidden(f"This needs the {' or '.join(roles)} role.")

    return check
