"""Who is calling: the identity the gateway vouches for, and how a service checks it.

The gateway verifies the client's credential and forwards the identity in `X-Internal-Identity`
as a short-lived JWT. Two kinds of token travel in that header, each accepted only with its own
algorithm, issuer and key:

- the gateway's (`iss: gateway`): EdDSA, signed with the gateway's current signing key, named
  by `kid`. Services verify it with the gateway's public keys, fetched from its JWKS
  (`GATEWAY_JWKS_URL`), cached, and fetched again for a key they do not know yet (a rotation),
  at most once a second. No service holds anything that could sign one.
- a service's (`iss: platform-service`): HS256 with the platform's internal secret, for a call
  a service makes on someone's behalf (`acting_as`) and for the services' own tests.

An HS256 token claiming the gateway's issuer (say, signed with its public key as the secret),
an EdDSA one naming a key the JWKS does not list, `alg: none` or any other algorithm is refused.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, FastAPI, Request
from starlette.requests import HTTPConnection

from shared.errors import Forbidden, ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)

Role = Literal["traveler", "provider", "expert", "admin"]
ROLES: tuple[Role, ...] = ("traveler", "provider", "expert", "admin")

INTERNAL_IDENTITY_HEADER = "X-Internal-Identity"
INTERNAL_AUDIENCE = "platform-internal"
GATEWAY_ISSUER = "gateway"
GATEWAY_ALGORITHM = "EdDSA"
SERVICE_ISSUER = "platform-service"
SERVICE_ALGORITHM = "HS256"


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


def _claims(identity: Identity, *, issuer: str, now: datetime, ttl: timedelta) -> dict[str, Any]:
    return {
        "sub": str(identity.user_id),
        "email": identity.email,
        "roles": list(identity.roles),
        "aud": INTERNAL_AUDIENCE,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }


def sign_internal_identity(identity: Identity, *, secret: str, now: datetime, ttl: timedelta) -> str:
    """A service's identity token (HS256 with the internal secret)."""
    return jwt.encode(_claims(identity, issuer=SERVICE_ISSUER, now=now, ttl=ttl), secret, algorithm=SERVICE_ALGORITHM)


def sign_gateway_identity(
    identity: Identity, *, private_key: Ed25519PrivateKey, kid: str, now: datetime, ttl: timedelta
) -> str:
    """The gateway's identity token (EdDSA with its signing key `kid`)."""
    claims = _claims(identity, issuer=GATEWAY_ISSUER, now=now, ttl=ttl)
    return jwt.encode(claims, private_key, algorithm=GATEWAY_ALGORITHM, headers={"kid": kid})


def acting_as(identity: Identity, *, secret: str, ttl: timedelta = timedelta(minutes=1)) -> dict[str, str]:
    """The identity header for a call a service makes on someone's behalf (the traveler whose
    request a provider accepts, whose expert books, whose balance falls due). Signed on the
    real time, which the receiving service checks it by, whatever clock the caller runs on."""
    return {INTERNAL_IDENTITY_HEADER: sign_internal_identity(identity, secret=secret, now=datetime.now(UTC), ttl=ttl)}


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("The caller's identity could not be verified.") from None


def gateway_key_id(token: str) -> str | None:
    """The `kid` of a gateway identity token; None for any other token."""
    header = _unverified_header(token)
    kid = header.get("kid")
    return kid if header.get("alg") == GATEWAY_ALGORITHM and isinstance(kid, str) else None


def verify_internal_identity(
    token: str, *, secret: str, gateway_keys: Mapping[str, Ed25519PublicKey] | None = None
) -> Identity:
    """The identity in a service's token (checked with `secret`) or the gateway's (checked
    with the key its `kid` names in `gateway_keys`); 401 for anything else."""
    header = _unverified_header(token)
    algorithm, kid = header.get("alg"), header.get("kid")
    key: str | Ed25519PublicKey | None = None
    issuer = ""
    if algorithm == SERVICE_ALGORITHM:
        key, issuer = secret, SERVICE_ISSUER
    elif algorithm == GATEWAY_ALGORITHM and isinstance(kid, str):
        key, issuer = (gateway_keys or {}).get(kid), GATEWAY_ISSUER
    if key is None or not isinstance(algorithm, str):
        raise Unauthorized("The caller's identity could not be verified.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=INTERNAL_AUDIENCE,
            issuer=issuer,
            options={"require": ["sub", "exp", "aud", "iss"]},
        )
        return Identity(user_id=UUID(claims["sub"]), email=str(claims["email"]), roles=tuple(claims["roles"]))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized("The caller's identity could not be verified.") from None


class JwksCache:
    """The keys a JWKS URL publishes, by `kid`: fetched on first use, again once older than
    `max_age_seconds`, and when asked for a key it does not hold. Fetches for unknown keys are
    at most one per `min_refetch_seconds`: a request that finds the budget spent waits for it
    (a key published a moment ago is still found), and every request that waited meanwhile
    takes that one fetch's answer, so a flood of tokens naming made-up keys costs one fetch a
    second and a wait, never a fetch each."""

    def __init__(
        self,
        url: str,
        *,
        max_age_seconds: float = 300.0,
        min_refetch_seconds: float = 1.0,
        timeout_seconds: float = 3.0,
    ) -> None:
        self.url = url
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._new_key_looked_up_at: float | None = None
        self._fetches = 0
        self._last_attempt_failed = False
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key `kid`; None if the JWKS does not list it; 503 if the JWKS cannot be read."""
        if kid not in self._keys or self._is_stale():
            fetches_before_the_wait = self._fetches
            async with self._lock:
                # A fetch that ran while this request waited for the lock answers it too.
                if self._fetches == fetches_before_the_wait:
                    if self._is_stale() and self._may_fetch():
                        await self._fetch()
                    elif kid not in self._keys:
                        await asyncio.sleep(self._wait_for_the_look_up_budget())
                        self._new_key_looked_up_at = time.monotonic()
                        await self._fetch()
        key = self._keys.get(kid)
        if key is None and self._last_attempt_failed:
            raise ServiceUnavailable(
                "The keys that verify this token could not be fetched; try again shortly.",
                error_code="DEPENDENCY_UNAVAILABLE",
                headers={"Retry-After": "1"},
            )
        return key

    def _is_stale(self) -> bool:
        return self._loaded_at is None or time.monotonic() - self._loaded_at >= self._max_age

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or time.monotonic() - self._attempted_at >= self._min_refetch

    def _wait_for_the_look_up_budget(self) -> float:
        if self._new_key_looked_up_at is None:
            return 0.0
        return max(0.0, self._new_key_looked_up_at + self._min_refetch - time.monotonic())

    async def _fetch(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url)
            response.raise_for_status()
            self._keys = _keys_by_id(response.json())
        except (httpx.HTTPError, ValueError) as error:
            self._last_attempt_failed = True
            logger.warning("could not fetch the JWKS at %s: %r", self.url, error)
            return
        finally:
            # Counted once done: whoever waited for the lock meanwhile takes this answer.
            self._fetches += 1
        self._loaded_at, self._last_attempt_failed = self._attempted_at, False


def _keys_by_id(document: Any) -> dict[str, jwt.PyJWK]:
    """Every usable signing key of a JWKS document; keys of unknown types are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("a JWKS document has a list of keys")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            logger.warning("skipping JWKS key %s of an unsupported type", entry["kid"])
    return keys


async def verify_identity_token(token: str, *, secret: str, gateway_jwks: JwksCache) -> Identity:
    """`verify_internal_identity` with the gateway's keys from its JWKS."""
    kid = gateway_key_id(token)
    keys: dict[str, Ed25519PublicKey] = {}
    if kid is not None:
        jwk = await gateway_jwks.get(kid)
        if jwk is not None and isinstance(jwk.key, Ed25519PublicKey):
            keys[kid] = jwk.key
    return verify_internal_identity(token, secret=secret, gateway_keys=keys)


def _gateway_jwks(app: FastAPI) -> JwksCache:
    """The app's cache of the gateway's keys, made on first use."""
    cache: JwksCache | None = getattr(app.state, "gateway_jwks", None)
    if cache is None:
        cache = JwksCache(app.state.resources.settings.gateway_jwks_url)
        app.state.gateway_jwks = cache
    return cache


async def identity_of(connection: HTTPConnection) -> Identity | None:
    """The identity a request or WebSocket carries; None without one; 401 for a bad one."""
    token = connection.headers.get(INTERNAL_IDENTITY_HEADER)
    if token is None:
        return None
    secret: str = connection.app.state.resources.settings.internal_auth_secret
    return await verify_identity_token(token, secret=secret, gateway_jwks=_gateway_jwks(connection.app))


async def optional_identity(request: Request) -> Identity | None:
    return await identity_of(request)


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
