"""An account's own credentials: registering without telling whether an address is taken,
verifying the email, changing the password, and resetting it with an emailed token.

The tokens emailed for verification and reset are random, kept only as a hash, work once and
until they expire, and a newer one of the same purpose supersedes the older. A new password,
changed or reset, ends the account's other sessions. What the owner must be told is an event
(shared.contracts.identity) written in the same transaction; notification sends the email. A
new account, and a verified email, is also an `identity.account_changed` (directory.py).
"""

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.identity.directory import account_changed
from gateway.identity.lockout import SignInLockout
from gateway.identity.models import AccountToken, UserAccount
from gateway.identity.revocation import RevocationList
from gateway.identity.schemas import Registration
from gateway.identity.service import end_sessions, password_hasher, password_matches
from gateway.settings import GatewaySettings
from shared.clock import Clock
from shared.contracts.identity import (
    EmailVerificationRequested,
    IdentityEvent,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttempted,
)
from shared.errors import AppError, Conflict, Forbidden
from shared.events.outbox import add_event

TokenPurpose = Literal["verify_email", "password_reset"]
VERIFY_EMAIL: TokenPurpose = "verify_email"
PASSWORD_RESET: TokenPurpose = "password_reset"  # noqa: S105 (a purpose, not a secret)


class InvalidAccountToken(AppError):
    """Unknown, expired, used or superseded: the same answer for each, so a guess learns nothing."""

    status_code = 400
    error_code = "INVALID_TOKEN"


def account_token_hash(token: str) -> str:
    # A token is 256 random bits, so a fast hash is enough to keep it unusable at rest.
    return hashlib.sha256(token.encode()).hexdigest()


def _emit(session: AsyncSession, event: IdentityEvent, *, settings: GatewaySettings, now: datetime) -> None:
    add_event(session, event, producer=settings.service_name, key=str(event.user_id), occurred_at=now)


async def _supersede_tokens(session: AsyncSession, *, user_id: UUID, purpose: TokenPurpose, now: datetime) -> None:
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )


async def _new_token(
    session: AsyncSession, *, user_id: UUID, purpose: TokenPurpose, lifetime: timedelta, now: datetime
) -> tuple[str, datetime]:
    """A token for `purpose` that supersedes the account's earlier ones; only its hash is stored."""
    await _supersede_tokens(session, user_id=user_id, purpose=purpose, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=account_token_hash(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


async def _consume_token(session: AsyncSession, *, token: str, purpose: TokenPurpose, now: datetime) -> UserAccount:
    """The account a live token of `purpose` is for; the token is used up. One conditional
    update, so of two requests with the same token only one gets the account."""
    user_id = await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == account_token_hash(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.superseded_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken.user_id)
    )
    if user_id is None:
        raise InvalidAccountToken("The token is invalid, expired or already used.")
    return await session.get_one(UserAccount, user_id)


async def _account_with_email(session: AsyncSession, email: str) -> UserAccount | None:
    return await session.scalar(select(UserAccount).where(UserAccount.email == email))


async def _send_verification(
    session: AsyncSession, *, user: UserAccount, settings: GatewaySettings, now: datetime
) -> None:
    token, expires_at = await _new_token(
        session,
        user_id=user.id,
        purpose=VERIFY_EMAIL,
        lifetime=timedelta(hours=settings.email_verification_token_ttl_hours),
        now=now,
    )
    _emit(
        session,
        EmailVerificationRequested(
            user_id=user.id, email=user.email, name=user.name, token=token, expires_at=expires_at
        ),
        settings=settings,
        now=now,
    )


async def _create_account(
    session: AsyncSession, *, registration: Registration, password_hash: str, settings: GatewaySettings, now: datetime
) -> None:
    user = UserAccount(
        id=uuid4(),
        email=registration.email.lower(),
        name=registration.name,
        password_hash=password_hash,
        roles=[registration.role],
        locale=registration.locale,
    )
    session.add(user)
    account_changed(session, user, producer=settings.service_name, now=now)
    await _send_verification(session, user=user, settings=settings, now=now)
    await session.commit()


async def register(
    session: AsyncSession, *, registration: Registration, settings: GatewaySettings, clock: Clock
) -> None:
    """A new account that may sign in at once, its owner emailed a link to verify the
    address; or, when the address has an account, that account's owner emailed that someone
    tried. Both ways hash the password and write the owner's email event, so neither the
    answer nor its time tells which happened (only a new account is an account_changed)."""
    email = registration.email.lower()
    password_hash = await asyncio.to_thread(password_hasher.hash, registration.password)
    now = clock.now()
    existing = await _account_with_email(session, email)
    if existing is None:
        try:
            await _create_account(
                session, registration=registration, password_hash=password_hash, settings=settings, now=now
            )
            return
        except IntegrityError:
            # Registered a moment ago by another request.
            await session.rollback()
            existing = await _account_with_email(session, email)
            if existing is None:
                raise
    _emit(
        session,
        RegistrationAttempted(user_id=existing.id, email=existing.email, name=existing.name, attempted_at=now),
        settings=settings,
        now=now,
    )
    await session.commit()


async def resend_verification(session: AsyncSession, *, user_id: UUID, settings: GatewaySettings, clock: Clock) -> None:
    """A fresh verification link for the signed-in owner, superseding the earlier one; 409
    `EMAIL_ALREADY_VERIFIED` once the address is proven."""
    now = clock.now()
    user = await session.get_one(UserAccount, user_id)
    if user.email_verified_at is not None:
        raise Conflict("This email address is verified already.", error_code="EMAIL_ALREADY_VERIFIED")
    await _send_verification(session, user=user, settings=settings, now=now)
    await session.commit()


def _mark_email_verified(session: AsyncSession, *, user: UserAccount, settings: GatewaySettings, now: datetime) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = now
        account_changed(session, user, producer=settings.service_name, now=now)


async def verify_email(session: AsyncSession, *, token: str, settings: GatewaySettings, clock: Clock) -> None:
    now = clock.now()
    user = await _consume_token(session, token=token, purpose=VERIFY_EMAIL, now=now)
    _mark_email_verified(session, user=user, settings=settings, now=now)
    await session.commit()


async def request_password_reset(
    session_factory: async_sessionmaker[AsyncSession], *, email: str, settings: GatewaySettings, clock: Clock
) -> None:
    """A reset token emailed to the account with `email`, superseding any earlier one; nothing
    when no account has it. Run after the caller has been answered, so that how long the
    answer takes says nothing about whether the account exists."""
    now = clock.now()
    async with session_factory() as session:
        user = await _account_with_email(session, email.lower())
        if user is None:
            return
        token, expires_at = await _new_token(
            session,
            user_id=user.id,
            purpose=PASSWORD_RESET,
            lifetime=timedelta(minutes=settings.password_reset_token_ttl_minutes),
            now=now,
        )
        _emit(
            session,
            PasswordResetRequested(
                user_id=user.id, email=user.email, name=user.name, token=token, expires_at=expires_at
            ),
            settings=settings,
            now=now,
        )
        await session.commit()


async def _set_password(
    session: AsyncSession,
    *,
    user: UserAccount,
    password_hash: str,
    how: Literal["change", "reset"],
    keep_session: UUID | None,
    revocations: RevocationList,
    settings: GatewaySettings,
    now: datetime,
) -> None:
    """The new password, every other session ended and every reset token still out superseded."""
    user.password_hash = password_hash
    await _supersede_tokens(session, user_id=user.id, purpose=PASSWORD_RESET, now=now)
    ended = await end_sessions(session, user_id=user.id, keep=keep_session, now=now)
    _emit(
        session,
        PasswordChanged(user_id=user.id, email=user.email, name=user.name, how=how, changed_at=now),
        settings=settings,
        now=now,
    )
    await session.commit()
    longest_token_life = timedelta(seconds=settings.access_token_ttl_seconds)
    for session_id in ended:
        await revocations.revoke_session(session_id, longest_token_life=longest_token_life)


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    new_password: str,
    revocations: RevocationList,
    settings: GatewaySettings,
    clock: Clock,
) -> None:
    """The password set with an emailed reset token, which also proves the address the owner's;
    every session of the account ends."""
    password_hash = await asyncio.to_thread(password_hasher.hash, new_password)
    now = clock.now()
    user = await _consume_token(session, token=token, purpose=PASSWORD_RESET, now=now)
    _mark_email_verified(session, user=user, settings=settings, now=now)
    await _set_password(
        session,
        user=user,
        password_hash=password_hash,
        how="reset",
        keep_session=None,
        revocations=revocations,
        settings=settings,
        now=now,
    )


async def change_password(
    session: AsyncSession,
    *,
    user_id: UUID,
    session_id: UUID,
    current_password: str,
    new_password: str,
    lockout: SignInLockout,
    revocations: RevocationList,
    settings: GatewaySettings,
    clock: Clock,
) -> None:
    """The signed-in owner's new password, for the current one; every session but this one
    ends. Wrong current passwords count towards the sign-in lockout, so a stolen access token
    is no way to guess the password."""
    user = await session.get_one(UserAccount, user_id)
    await lockout.begin_attempt(user.email, now=clock.now())
    if not await password_matches(user.password_hash, current_password):
        raise Forbidden("The current password is wrong.", error_code="INVALID_CREDENTIALS")
    await lockout.succeeded(user.email)
    password_hash = await asyncio.to_thread(password_hasher.hash, new_password)
    await _set_password(
        session,
        user=user,
        password_hash=password_hash,
        how="change",
        keep_session=session_id,
        revocations=revocations,
        settings=settings,
        now=clock.now(),
    )
