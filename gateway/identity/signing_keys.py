"""The gateway's token signing keys: Ed25519 pairs kept in its database, so every gateway
process signs with the same one. The private half is encrypted with `GATEWAY_SIGNING_KEY_SECRET`
and never leaves the gateway; the public halves are its JWKS.

One key is active and signs. Rotating makes a new key active and gives the one it replaces a
`verify_until`: past the expiry of the last token it can have signed, counting the time other
processes keep signing with it before they reload their keys. Until then it verifies and stays
in the JWKS; after, it is retired (deleted at the next rotation).
"""

import asyncio
import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.identity.models import SigningKey
from shared.clock import Clock

logger = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
# Between two gateway processes' clocks.
CLOCK_SKEW = timedelta(seconds=60)
_LOCK_NAME = "gateway:signing-keys"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public_key(public_key)),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: the same key always has the same id."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public_key(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gateway signing keys").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _new_signing_key(*, secret: str, now: datetime) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    raw_private = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return SigningKey(
        kid=key_id(private_key.public_key()),
        algorithm=ALGORITHM,
        public_key=_b64url(_raw_public_key(private_key.public_key())),
        encrypted_private_key=_fernet(secret).encrypt(raw_private),
        created_at=now,
    )


def _live(now: datetime) -> ColumnElement[bool]:
    return or_(SigningKey.verify_until.is_(None), SigningKey.verify_until > now)


async def _lock(session: AsyncSession) -> None:
    """Serialises key changes across gateway processes (held until the transaction ends)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(_LOCK_NAME))))


async def ensure_active_key(session_factory: async_sessionmaker[AsyncSession], *, secret: str, now: datetime) -> None:
    """A key is active (the first one is made at the first start)."""
    async with session_factory() as session, session.begin():
        await _lock(session)
        if await session.scalar(select(SigningKey.kid).where(SigningKey.superseded_at.is_(None))) is None:
            session.add(_new_signing_key(secret=secret, now=now))


async def rotate_signing_key(session: AsyncSession, *, secret: str, now: datetime, overlap: timedelta) -> SigningKey:
    """A new active key; the one it replaces verifies for `overlap` more; retired keys go."""
    await _lock(session)
    await session.execute(delete(SigningKey).where(SigningKey.verify_until <= now))
    await session.execute(
        update(SigningKey)
        .where(SigningKey.superseded_at.is_(None))
        .values(superseded_at=now, verify_until=now + overlap + CLOCK_SKEW)
    )
    key = _new_signing_key(secret=secret, now=now)
    session.add(key)
    await session.commit()
    logger.info("signing key %s is active", key.kid)
    return key


async def live_keys(session: AsyncSession, *, now: datetime) -> list[SigningKey]:
    """The keys that verify now, the active one first: what the JWKS publishes."""
    found = await session.scalars(
        select(SigningKey).where(_live(now)).order_by(SigningKey.superseded_at.desc().nulls_first())
    )
    return list(found)


async def published_jwks(session: AsyncSession, *, now: datetime) -> list[dict[str, str]]:
    """The public half of every key that verifies now, as JWKs."""
    return [
        public_jwk(key.kid, Ed25519PublicKey.from_public_bytes(_b64url_decode(key.public_key)))
        for key in await live_keys(session, now=now)
    ]


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class VerifyingKey:
    public_key: Ed25519PublicKey
    verify_until: datetime | None


class KeyRing:
    """This process's copy of the live keys: read again once `cache_for` old, and when a token
    names a key it does not hold, but not twice within `reload_at_most_every`."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        secret: str,
        clock: Clock,
        cache_for: timedelta,
        reload_at_most_every: timedelta,
    ) -> None:
        self._session_factory = session_factory
        self._fernet = _fernet(secret)
        self._clock = clock
        self._cache_for = cache_for
        self._reload_at_most_every = reload_at_most_every
        self._active: ActiveKey | None = None
        self._verifying: dict[str, VerifyingKey] = {}
        self._loaded_at: datetime | None = None
        self._loading = asyncio.Lock()

    async def load(self) -> None:
        now = self._clock.now()
        async with self._session_factory() as session:
            keys = await live_keys(session, now=now)
        active = next((key for key in keys if key.superseded_at is None), None)
        if active is None:
            raise RuntimeError("no active signing key (ensure_active_key runs at start-up)")
        try:
            raw_private = self._fernet.decrypt(active.encrypted_private_key)
        except InvalidToken:
            raise RuntimeError("the signing key secret does not decrypt the stored signing key") from None
        self._active = ActiveKey(active.kid, Ed25519PrivateKey.from_private_bytes(raw_private))
        self._verifying = {
            key.kid: VerifyingKey(Ed25519PublicKey.from_public_bytes(_b64url_decode(key.public_key)), key.verify_until)
            for key in keys
        }
        self._loaded_at = now

    def _older_than(self, age: timedelta) -> bool:
        return self._loaded_at is None or self._clock.now() - self._loaded_at >= age

    async def refresh_if_stale(self) -> None:
        if self._older_than(self._cache_for):
            async with self._loading:
                # Checked again after the wait: one reload serves every request that waited.
                if self._older_than(self._cache_for):
                    await self.load()

    def active(self) -> ActiveKey:
        if self._active is None:
            raise RuntimeError("the key ring is not loaded")
        return self._active

    async def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key `kid` if it verifies now."""
        await self.refresh_if_stale()
        if kid not in self._verifying and self._older_than(self._reload_at_most_every):
            async with self._loading:
                if kid not in self._verifying and self._older_than(self._reload_at_most_every):
                    await self.load()
        key = self._verifying.get(kid)
        now = self._clock.now()
        if key is None or (key.verify_until is not None and key.verify_until <= now):
            return None
        return key.public_key
