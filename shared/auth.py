"""Who is calling: the identity the gateway vouches for, the identity a service acts for, and
how a service checks them.

Every identity travels in `X-Internal-Identity` as a short-lived EdDSA (Ed25519) JWT addressed
to one service (`aud` is its name), from one of two kinds of issuer:

- the gateway (`iss: gateway`), for a client's request, signed with its current signing key
  (named by `kid`) and carrying any role the account has. Services verify it with the
  gateway's public keys from its JWKS (`GATEWAY_JWKS_URL`), cached, and fetched again for a
  key they do not know yet (a rotation), at most once a second.
- a service that calls another on someone's behalf (`iss: booking` when booking places a hold
  or asks for a payment intent), signed with that service's own key and published by it at
  `/.well-known/jwks.json`. A service trusts the callers named in its `CALLER_JWKS_URLS`, and
  from each only the roles `SERVICE_ROLES` lets it act as: never admin. A service's key that
  leaks mints no admin, and nothing for a service that does not trust that caller.

A token for another audience, from an issuer the service does not trust, naming a key its
issuer does not publish, carrying a role its issuer may not act as, expired, or signed with
any other algorithm (HS256, `alg: none`) is refused.
"""

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI, Request
from starlette.requests import HTTPConnection

from shared.errors import Forbidden, ServiceUnavailable, Unauthorized
from shared.identity import Identity, Role

logger = logging.getLogger(__name__)

# The roles a service may act as on someone's behalf: admin is not among them.
ServiceRole = Literal["traveler", "provider", "expert"]

INTERNAL_IDENTITY_HEADER = "X-Internal-Identity"
ALGORITHM = "EdDSA"
GATEWAY_ISSUER = "gateway"
SERVICE_JWKS_PATH = "/.well-known/jwks.json"
# How long a service's token on someone's behalf lives: the length of one call.
SERVICE_IDENTITY_TTL = timedelta(minutes=1)

# The services that call others on someone's behalf, and the roles each may act as. Booking
# places and releases holds and asks for payment intents for travelers, for the provider who
# accepts a request, and for the expert who books for a traveler.
SERVICE_ROLES: Mapping[str, frozenset[ServiceRole]] = {
    "booking": frozenset({"traveler", "provider", "expert"}),
}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key: Ed25519PublicKey, *, kid: str | None = None) -> dict[str, str]:
    """The JWK of an Ed25519 public key, named `kid` or else by its RFC 7638 thumbprint."""
    x = _b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    thumbprint_input = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    thumbprint = _b64url(hashlib.sha256(thumbprint_input.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid or thumbprint, "alg": ALGORITHM, "use": "sig"}


def _claims(
    identity: Identity, *, roles: tuple[str, ...], issuer: str, audience: str, now: datetime, ttl: timedelta
) -> dict[str, Any]:
    return {
        "sub": str(identity.user_id),
        "email": identity.email,
        "roles": list(roles),
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }


def sign_gateway_identity(
    identity: Identity, *, private_key: Ed25519PrivateKey, kid: str, audience: str, now: datetime, ttl: timedelta
) -> str:
    """The gateway's identity token for the service `audience`, signed with its key `kid`."""
    claims = _claims(identity, roles=identity.roles, issuer=GATEWAY_ISSUER, audience=audience, now=now, ttl=ttl)
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})


@dataclass(frozen=True)
class ServiceSigner:
    """A service's key for the calls it makes on someone's behalf."""

    service: str
    private_key: Ed25519PrivateKey
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        if self.service not in SERVICE_ROLES:
            raise ValueError(f"{self.service} acts for no one (shared.auth.SERVICE_ROLES)")
        object.__setattr__(self, "kid", public_jwk(self.private_key.public_key())["kid"])

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """What this service publishes at `SERVICE_JWKS_PATH`: its public key."""
        return {"keys": [public_jwk(self.private_key.public_key())]}

    def sign(self, identity: Identity, *, audience: str, now: datetime, ttl: timedelta = SERVICE_IDENTITY_TTL) -> str:
        """A token for `audience` carrying only the roles of `identity` this service may act as."""
        roles = tuple(role for role in identity.roles if role in SERVICE_ROLES[self.service])
        claims = _claims(identity, roles=roles, issuer=self.service, audience=audience, now=now, ttl=ttl)
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def acting_as(self, identity: Identity, *, audience: str) -> dict[str, str]:
        """The identity header for a call to `audience` on behalf of `identity` (the traveler
        whose request a provider accepts, whose expert books, whose balance falls due). Signed
        on the real time, which the receiving service checks it by, whatever clock the caller
        runs on."""
        return {INTERNAL_IDENTITY_HEADER: self.sign(identity, audience=audience, now=datetime.now(UTC))}


@dataclass(frozen=True)
class ActingFor:
    """Whom a service acts for in its calls to other services, and the key it vouches with."""

    identity: Identity
    signer: ServiceSigner

    def headers(self, audience: str) -> dict[str, str]:
        return self.signer.acting_as(self.identity, audience=audience)


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
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


class KeySource(Protocol):
    """Where an issuer's public keys come from: its JWKS (`JwksCache`), or a fixed set in tests."""

    async def get(self, kid: str) -> jwt.PyJWK | None: ...


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer a service accepts identities from: its keys, and the roles it may carry
    (None: any, for the gateway, which vouches for the account itself)."""

    keys: KeySource
    roles: frozenset[str] | None


def _refused() -> Unauthorized:
    return Unauthorized("The caller's identity could not be verified.")


class IdentityVerifier:
    """Checks the identity tokens addressed to one service (`audience`) from its trusted issuers."""

    def __init__(self, *, audience: str, issuers: Mapping[str, TrustedIssuer]) -> None:
        self.audience = audience
        self.issuers = dict(issuers)

    @classmethod
    def for_service(
        cls, service: str, *, gateway_jwks_url: str, caller_jwks_urls: Mapping[str, str]
    ) -> "IdentityVerifier":
        """The verifier of `service`: the gateway's keys, and those of each service that may
        call it on someone's behalf (which must be one that acts for someone)."""
        unknown = sorted(set(caller_jwks_urls) - set(SERVICE_ROLES))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} may act for no one (shared.auth.SERVICE_ROLES)")
        issuers = {GATEWAY_ISSUER: TrustedIssuer(JwksCache(gateway_jwks_url), roles=None)}
        issuers |= {
            caller: TrustedIssuer(JwksCache(url), roles=frozenset(SERVICE_ROLES[caller]))
            for caller, url in caller_jwks_urls.items()
        }
        return cls(audience=service, issuers=issuers)

    async def verify(self, token: str) -> Identity:
        """The identity in `token`; 401 unless every check passes (see the module's docstring)."""
        header = _unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise _refused()
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise _refused() from None
        trusted = self.issuers.get(issuer) if isinstance(issuer, str) else None
        jwk = await trusted.keys.get(kid) if trusted is not None else None
        if trusted is None or jwk is None or not isinstance(jwk.key, Ed25519PublicKey):
            raise _refused()
        try:
            claims = jwt.decode(
                token,
                jwk.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=issuer,
                options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
            roles = claims["roles"]
            identity = Identity(user_id=UUID(claims["sub"]), email=str(claims["email"]), roles=tuple(roles))
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise _refused() from None
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise _refused()
        if trusted.roles is not None and not set(roles) <= trusted.roles:
            logger.warning("refused a token of %s carrying roles %s it may not act as", issuer, roles)
            raise _refused()
        return identity


def identity_verifier(app: FastAPI) -> IdentityVerifier:
    verifier: IdentityVerifier = app.state.identity_verifier
    return verifier


async def identity_of(connection: HTTPConnection) -> Identity | None:
    """The identity a request or WebSocket carries; None without one; 401 for a bad one."""
    token = connection.headers.get(INTERNAL_IDENTITY_HEADER)
    if token is None:
        return None
    return await identity_verifier(connection.app).verify(token)


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


def service_signer(connection: HTTPConnection) -> ServiceSigner:
    """The app's key for its calls on someone's behalf (made by `shared.app.create_app`)."""
    signer: ServiceSigner = connection.app.state.service_signer
    return signer


ServiceSignerDep = Annotated[ServiceSigner, Depends(service_signer)]
