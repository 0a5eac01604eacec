"""Who a request comes from, and how the gateway vouches for them to the services.

The one seam between identity and the rest of the gateway: the proxy, the rate limiter and
the WebSocket entry point ask it, and never read credentials themselves. A request carries
`Authorization: Bearer <token>` (the gateway's own access token, or one from the trusted
external identity provider) or `Authorization: ApiKey <key>` (a provider's API key, which may
only call what its scopes allow: `identify` refuses the rest with 403).

The gateway's access tokens are EdDSA JWTs signed with its current key (signing_keys.py, which
also signs the identity forwarded to services: see shared.auth), refused once revoked
(revocation.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from gateway.identity import api_keys, service, signing_keys
from gateway.identity.external import ExternalIdentityProvider
from gateway.identity.lockout import SignInLockout
from gateway.identity.models import SigningKey
from gateway.identity.revocation import RevocationList
from gateway.identity.scopes import scopes_allow
from gateway.identity.signing_keys import ALGORITHM, ActiveKey, KeyRing, ensure_active_key
from gateway.identity.tokens import invalid_token, unverified_header_and_issuer, verify_access_token
from gateway.settings import GatewaySettings
from shared.auth import INTERNAL_IDENTITY_HEADER, sign_gateway_identity
from shared.clock import Clock
from shared.errors import Forbidden, Unauthorized
from shared.identity import Identity


@dataclass(frozen=True)
class Authenticated:
    """A verified caller. A token's expiry, id and session (an API key has none) let signing
    out refuse them."""

    identity: Identity
    expires_at: datetime | None = None
    token_id: str | None = None
    session_id: UUID | None = None


@dataclass
class _Opened:
    session_factory: async_sessionmaker[AsyncSession]
    key_ring: KeyRing
    revocations: RevocationList
    sign_in_lockout: SignInLockout


class Authenticator:
    def __init__(self, *, settings: GatewaySettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._identity_ttl = timedelta(seconds=settings.internal_identity_ttl_seconds)
        self._external = (
            ExternalIdentityProvider(
                issuer=settings.external_idp_issuer,
                audience=settings.external_idp_audience,
                jwks_url=settings.external_idp_jwks_url,
            )
            if settings.external_idp_issuer and settings.external_idp_audience and settings.external_idp_jwks_url
            else None
        )
        self._opened: _Opened | None = None

    async def open(self, session_factory: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        """Connect to the gateway's database and Redis (at start-up), with a signing key ready."""
        settings = self._settings
        await ensure_active_key(session_factory, secret=settings.signing_key_secret, now=self._clock.now())
        key_ring = KeyRing(
            session_factory,
            secret=settings.signing_key_secret,
            clock=self._clock,
            cache_for=timedelta(seconds=settings.signing_key_cache_seconds),
            reload_at_most_every=timedelta(seconds=settings.signing_key_reload_seconds),
        )
        await key_ring.load()
        self._opened = _Opened(
            session_factory=session_factory,
            key_ring=key_ring,
            revocations=RevocationList(redis),
            sign_in_lockout=SignInLockout(
                redis,
                limit=settings.sign_in_failure_limit,
                window=timedelta(seconds=settings.sign_in_failure_window_seconds),
            ),
        )

    def _open(self) -> _Opened:
        if self._opened is None:
            raise RuntimeError("the authenticator is not open (the app's lifespan opens it)")
        return self._opened

    @property
    def key_ring(self) -> KeyRing:
        return self._open().key_ring

    @property
    def revocations(self) -> RevocationList:
        return self._open().revocations

    @property
    def sign_in_lockout(self) -> SignInLockout:
        return self._open().sign_in_lockout

    async def signing_key(self) -> ActiveKey:
        """The key new tokens are signed with."""
        await self.key_ring.refresh_if_stale()
        return self.key_ring.active()

    async def rotate_signing_key(self) -> SigningKey:
        """A new active key. The one it replaces verifies until every token it can have signed
        has expired, counting the time other processes may still sign with it before they
        reload their keys."""
        settings = self._settings
        longest_token_life = max(settings.access_token_ttl_seconds, settings.internal_identity_ttl_seconds)
        async with self._open().session_factory() as session:
            key = await signing_keys.rotate_signing_key(
                session,
                secret=settings.signing_key_secret,
                now=self._clock.now(),
                overlap=timedelta(seconds=longest_token_life + settings.signing_key_cache_seconds),
            )
        await self.key_ring.load()
        return key

    async def identify(self, connection: HTTPConnection) -> Identity | None:
        """The caller's identity; None for an anonymous caller; 401 for a bad credential; 403
        for an API key whose scopes do not cover the request."""
        authenticated = await self.authenticate(connection)
        return authenticated.identity if authenticated else None

    async def authenticate(self, connection: HTTPConnection) -> Authenticated | None:
        authorization = connection.headers.get("authorization", "").strip()
        if not authorization:
            return None
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        await self.key_ring.refresh_if_stale()
        if scheme.lower() == "bearer" and credential:
            return await self._bearer(credential)
        if scheme.lower() == "apikey" and credential:
            return await self._api_key(credential, connection)
        raise Unauthorized(
            "Use an `Authorization: Bearer <access token>` or `Authorization: ApiKey <key>` header.",
            error_code="INVALID_TOKEN",
        )

    async def _bearer(self, token: str) -> Authenticated:
        now = self._clock.now()
        header, issuer = unverified_header_and_issuer(token)
        if self._external is not None and issuer == self._external.issuer:
            claims = await self._external.verify(token, kid=header.get("kid"), now=now)
            if claims.token_id is not None and await self.revocations.is_revoked(token_id=claims.token_id):
                raise invalid_token("The access token was revoked.")
            async with self._open().session_factory() as session:
                user = await service.account_for_external_identity(
                    session, claims=claims, settings=self._settings, now=now
                )
            return Authenticated(service.identity_of(user), expires_at=claims.expires_at, token_id=claims.token_id)
        kid = header.get("kid")
        public_key = (
            await self.key_ring.public_key(kid) if header.get("alg") == ALGORITHM and isinstance(kid, str) else None
        )
        if public_key is None:
            raise invalid_token()
        access = verify_access_token(token, public_key=public_key, now=now)
        if await self.revocations.is_revoked(token_id=access.token_id, session_id=access.session_id):
            raise invalid_token("The access token was revoked.")
        return Authenticated(
            access.identity,
            expires_at=access.expires_at,
            token_id=access.token_id,
            session_id=access.session_id,
        )

    async def _api_key(self, key: str, connection: HTTPConnection) -> Authenticated:
        async with self._open().session_factory() as session:
            api_key, user = await api_keys.account_for_api_key(session, key=key)
        method = connection.scope.get("method", "GET")
        if not scopes_allow(api_key.scopes, method, connection.url.path):
            raise Forbidden(
                "This API key's scopes do not allow this request.",
                error_code="INSUFFICIENT_SCOPE",
                details={"scopes": api_key.scopes},
            )
        return Authenticated(service.identity_of(user))

    def identity_header(self, identity: Identity, *, audience: str) -> tuple[str, str]:
        """The header that tells the service `audience` who the caller is, signed with the
        gateway's current key so that services verify it with the JWKS and no one else can
        forge it; addressed to that one service, so no other accepts it."""
        key = self.key_ring.active()
        signed = sign_gateway_identity(
            identity,
            private_key=key.private_key,
            kid=key.kid,
            audience=audience,
            now=self._clock.now(),
            ttl=self._identity_ttl,
        )
        return INTERNAL_IDENTITY_HEADER, signed
