"""Signing in and out, rotating refresh tokens, ending an account's sessions, accounts for
external identities, and the bootstrap admin. (Registering and the account's own credentials:
accounts.py.)"""

import asyncio
import logging
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.identity.directory import account_changed
from gateway.identity.domain import DEFAULT_LOCALE, may_link_external_identity
from gateway.identity.external import ExternalClaims
from gateway.identity.lockout import SignInLockout
from gateway.identity.models import ExternalIdentity, RefreshToken, UserAccount
from gateway.identity.revocation import RevocationList
from gateway.identity.schemas import TokenPair
from gateway.identity.signing_keys import ActiveKey
from gateway.identity.tokens import issue_access_token, new_refresh_token, refresh_token_hash
from gateway.settings import GatewaySettings
from shared.clock import Clock
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.identity import Identity

logger = logging.getLogger(__name__)

# argon2id with the library's defaults (RFC 9106 low-memory profile).
password_hasher = PasswordHasher()

# Verified when the email is unknown, so a miss costs as much time as a wrong password.
_UNKNOWN_USER_HASH = password_hasher.hash("no user has this password")
# What an account made for an external identity holds instead: no password matches it.
EXTERNAL_ACCOUNT_HASH = "!"


def identity_of(user: UserAccount) -> Identity:
    return Identity(user_id=user.id, email=user.email, roles=tuple(user.roles))


async def password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(password_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _issue_tokens(
    session: AsyncSession,
    *,
    user: UserAccount,
    family_id: UUID,
    key: ActiveKey,
    settings: GatewaySettings,
    now: datetime,
) -> TokenPair:
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=refresh_token_hash(refresh_token),
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    access_token = issue_access_token(
        identity_of(user),
        session_id=family_id,
        key=key,
        now=now,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    return TokenPair(
        access_token=access_token, refresh_token=refresh_token, expires_in=settings.access_token_ttl_seconds
    )


async def sign_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    lockout: SignInLockout,
    key: ActiveKey,
    settings: GatewaySettings,
    clock: Clock,
) -> TokenPair:
    """A token pair for the right password; 401 otherwise, and 429 once the email has failed
    too often (whether or not an account has it)."""
    email = email.lower()
    await lockout.begin_attempt(email, now=clock.now())
    user = await session.scalar(select(UserAccount).where(UserAccount.email == email))
    matches = await password_matches(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    if user is None or not matches:
        raise Unauthorized("The email or password is wrong.", error_code="INVALID_CREDENTIALS")
    await lockout.succeeded(email)
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(password_hasher.hash, password)
    tokens = await _issue_tokens(session, user=user, family_id=uuid4(), key=key, settings=settings, now=clock.now())
    await session.commit()
    return tokens


async def _revoke_family(session: AsyncSession, *, family_id: UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def end_sessions(session: AsyncSession, *, user_id: UUID, keep: UUID | None, now: datetime) -> list[UUID]:
    """Revoke the refresh tokens of every session (family) of the account but `keep`; returns
    the sessions ended, whose access tokens the caller revokes once this has committed."""
    live = update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if keep is not None:
        live = live.where(RefreshToken.family_id != keep)
    ended = await session.scalars(live.values(revoked_at=now).returning(RefreshToken.family_id))
    return sorted(set(ended))


async def rotate_refresh_token(
    session: AsyncSession,
    *,
    refresh_token: str,
    revocations: RevocationList,
    key: ActiveKey,
    settings: GatewaySettings,
    clock: Clock,
) -> TokenPair:
    """A new pair for a live refresh token, which stops working. A token used a second time
    means it was stolen or leaked: its whole family is revoked, with the access tokens issued
    in it."""
    now = clock.now()
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(refresh_token)).with_for_update()
    )
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise Unauthorized("The refresh token is invalid or expired.", error_code="INVALID_TOKEN")
    if stored.used_at is not None:
        await _revoke_family(session, family_id=stored.family_id, now=now)
        await session.commit()
        await revocations.revoke_session(
            stored.family_id, longest_token_life=timedelta(seconds=settings.access_token_ttl_seconds)
        )
        logger.warning("refresh token reused; family %s revoked", stored.family_id)
        raise Unauthorized("The refresh token was already used.", error_code="INVALID_TOKEN")
    stored.used_at = now
    user = await session.get_one(UserAccount, stored.user_id)
    tokens = await _issue_tokens(session, user=user, family_id=stored.family_id, key=key, settings=settings, now=now)
    await session.commit()
    return tokens


async def sign_out(
    session: AsyncSession,
    *,
    session_id: UUID | None,
    token_id: str,
    expires_at: datetime,
    revocations: RevocationList,
    settings: GatewaySettings,
    now: datetime,
) -> None:
    """The access token is refused from now on, and so is its session: every refresh token
    of the family and every access token issued in it."""
    if session_id is not None:
        await _revoke_family(session, family_id=session_id, now=now)
        await session.commit()
        await revocations.revoke_session(
            session_id, longest_token_life=timedelta(seconds=settings.access_token_ttl_seconds)
        )
    await revocations.revoke_token(token_id, expires_at=expires_at, now=now)


async def account_for_external_identity(
    session: AsyncSession, *, claims: ExternalClaims, settings: GatewaySettings, now: datetime
) -> UserAccount:
    """The account an external identity acts as: the one linked to it. At first sight, and
    only if the provider verified the email: the account with that email, if its owner
    verified it too and it is not an admin's (domain.may_link_external_identity), else a new
    traveler. Anything else is refused and links nothing."""
    linked = select(UserAccount).join(ExternalIdentity, ExternalIdentity.user_id == UserAccount.id)
    linked = linked.where(ExternalIdentity.issuer == claims.issuer, ExternalIdentity.subject == claims.subject)
    user = await session.scalar(linked)
    if user is not None:
        return user
    if not claims.email_verified:
        # Refused whether or not an account has the email: an unverified claim neither links
        # nor takes an address from its owner, and the answer says nothing about accounts.
        raise Forbidden(
            "The identity provider has not verified this email; verify it there first.",
            error_code="IDP_EMAIL_NOT_VERIFIED",
        )
    user = await session.scalar(select(UserAccount).where(UserAccount.email == claims.email))
    if user is not None and not may_link_external_identity(
        roles=user.roles, email_verified=user.email_verified_at is not None
    ):
        raise Forbidden(
            "An account here has this email and cannot be linked to this identity. Sign in with its "
            "password (or reset it) and verify the email first.",
            error_code="ACCOUNT_NOT_LINKABLE",
        )
    try:
        if user is None:
            user = UserAccount(
                id=uuid4(),
                email=claims.email,
                name=claims.name,
                password_hash=EXTERNAL_ACCOUNT_HASH,
                roles=["traveler"],
                email_verified_at=now,
                locale=DEFAULT_LOCALE,
            )
            session.add(user)
            account_changed(session, user, producer=settings.service_name, now=now)
            await session.flush()
        session.add(ExternalIdentity(issuer=claims.issuer, subject=claims.subject, user_id=user.id, created_at=now))
        await session.commit()
    except IntegrityError:
        # Seen for the first time by two requests at once: the other one linked it.
        await session.rollback()
        user = await session.scalar(linked)
        if user is None:
            raise
    return user


async def get_user(session: AsyncSession, *, user_id: UUID) -> UserAccount:
    user = await session.get(UserAccount, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def ensure_bootstrap_admin(
    session_factory: async_sessionmaker[AsyncSession], *, settings: GatewaySettings, clock: Clock
) -> None:
    """The admin named in settings exists (created once; an existing account is left as it is)."""
    email = settings.bootstrap_admin_email.lower()
    async with session_factory() as session:
        if await session.scalar(select(UserAccount.id).where(UserAccount.email == email)):
            return
        admin = UserAccount(
            id=uuid4(),
            email=email,
            name="Platform admin",
            password_hash=await asyncio.to_thread(password_hasher.hash, settings.bootstrap_admin_password),
            roles=["admin"],
            locale=DEFAULT_LOCALE,
        )
        session.add(admin)
        account_changed(session, admin, producer=settings.service_name, now=clock.now())
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
