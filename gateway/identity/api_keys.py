"""Provider API keys: made and shown once, stored as a prefix (to find the row) and a hash,
listed without secrets, revoked; and the account a presented key stands for.

A key is `tpk_<12 hex>_<43 random characters>`, sent as `Authorization: ApiKey <key>`."""

import hashlib
import hmac
import secrets
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.models import ApiKey, UserAccount
from gateway.identity.scopes import Scope
from shared.errors import Conflict, Forbidden, NotFound, Unauthorized
from shared.identity import Identity

KEY_PREFIX = "tpk_"


def _secret_hash(key: str) -> str:
    # A key carries 256 random bits, so a fast hash keeps it unusable at rest.
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    """A new key and the prefix it is found by."""
    prefix = KEY_PREFIX + secrets.token_hex(6)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def _prefix_of(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    lookup, separator, secret = key[len(KEY_PREFIX) :].partition("_")
    if not separator or len(lookup) != 12 or not secret:
        return None
    return KEY_PREFIX + lookup


async def create_api_key(
    session: AsyncSession, *, owner: Identity, name: str, scopes: list[Scope], limit: int, now: datetime
) -> tuple[ApiKey, str]:
    """A new key for a provider or an admin, and the key itself, which is never shown again."""
    if not (owner.has_role("provider") or owner.is_admin):
        raise Forbidden("API keys are for providers.")
    # The account row is locked so that concurrent requests cannot pass the limit together.
    await session.execute(select(UserAccount.id).where(UserAccount.id == owner.user_id).with_for_update())
    live = await session.scalar(
        select(func.count()).where(ApiKey.user_id == owner.user_id, ApiKey.revoked_at.is_(None))
    )
    if (live or 0) >= limit:
        raise Conflict(f"An account holds at most {limit} API keys; revoke one first.", error_code="TOO_MANY_API_KEYS")
    key, prefix = _new_key()
    api_key = ApiKey(
        user_id=owner.user_id,
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(key),
        scopes=sorted(set(scopes)),
        created_at=now,
    )
    session.add(api_key)
    await session.commit()
    return api_key, key


async def list_api_keys(session: AsyncSession, *, owner: Identity) -> list[ApiKey]:
    found = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == owner.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return list(found)


async def revoke_api_key(session: AsyncSession, *, owner: Identity, key_id: UUID, now: datetime) -> None:
    """The key stops working at once; 404 unless it is the caller's (or the caller is an admin)."""
    api_key = await session.get(ApiKey, key_id, with_for_update=True)
    if api_key is None or api_key.revoked_at is not None or not (owner.is_admin or api_key.user_id == owner.user_id):
        raise NotFound("No such API key.")
    api_key.revoked_at = now
    await session.commit()


async def account_for_api_key(session: AsyncSession, *, key: str) -> tuple[ApiKey, UserAccount]:
    """The live key presented and its owner; 401 otherwise."""
    prefix = _prefix_of(key)
    found = None
    if prefix is not None:
        found = (
            await session.execute(
                select(ApiKey, UserAccount)
                .join(UserAccount, UserAccount.id == ApiKey.user_id)
                .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            )
        ).first()
    if found is None or not hmac.compare_digest(found[0].secret_hash, _secret_hash(key)):
        raise Unauthorized("The API key is invalid or revoked.", error_code="INVALID_API_KEY")
    return found[0], found[1]
