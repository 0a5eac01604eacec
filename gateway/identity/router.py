from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status

from gateway.identity import accounts, api_keys, directory, service
from gateway.identity.authenticator import Authenticated, Authenticator
from gateway.identity.schemas import (
    Accepted,
    ApiKeyList,
    ApiKeyOut,
    Credentials,
    Done,
    EmailVerification,
    JsonWebKeySet,
    NewApiKey,
    NewApiKeyRequest,
    PasswordChange,
    PasswordReset,
    PasswordResetRequest,
    RefreshRequest,
    Registration,
    Republished,
    SigningKeyList,
    SigningKeyOut,
    TokenPair,
    UserOut,
)
from gateway.identity.signing_keys import live_keys, published_jwks
from gateway.settings import GatewaySettings
from shared.clock import Clock
from shared.deps import ResourcesDep, SessionDep
from shared.error_codes import (
    EMAIL_ALREADY_VERIFIED,
    FORBIDDEN,
    INVALID_ACCOUNT_TOKEN,
    INVALID_CREDENTIALS,
    INVALID_TOKEN,
    SIGN_IN_LOCKED,
    TOO_MANY_API_KEYS,
    WRONG_PASSWORD,
)
from shared.errors import Forbidden, Unauthorized
from shared.openapi import problems

router = APIRouter(prefix="/api/v1/auth", tags=["Auth"])
# The JWKS at its well-known address, for services and anyone verifying the gateway's tokens.
well_known_router = APIRouter(prefix="/.well-known", tags=["Auth"])


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.resources.settings
    return settings


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


async def _authenticated(request: Request) -> Authenticated:
    authenticated = await _authenticator(request).authenticate(request)
    if authenticated is None:
        raise Unauthorized("Sign in to do this.")
    return authenticated


async def _admin(authenticated: Annotated[Authenticated, Depends(_authenticated)]) -> Authenticated:
    if not authenticated.identity.is_admin:
        raise Forbidden("This needs the admin role.")
    return authenticated


SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
ClockDep = Annotated[Clock, Depends(_clock)]
AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]
AuthenticatedDep = Annotated[Authenticated, Depends(_authenticated)]
AdminDep = Annotated[Authenticated, Depends(_admin)]


@router.post("/register", status_code=status.HTTP_202_ACCEPTED)
async def register(registration: Registration, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Accepted:
    """The same answer whether or not the address is taken: a new account, which may sign in
    at once, is emailed a link to verify the address; the owner of a taken one is told that
    someone tried."""
    await accounts.register(session, registration=registration, settings=settings, clock=clock)
    return Accepted(status="verification_sent")


@router.post("/verify-email", responses=problems(INVALID_ACCOUNT_TOKEN))
async def verify_email(body: EmailVerification, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Done:
    """Proves the address with the emailed token (once, before it expires); 400 `INVALID_TOKEN` otherwise."""
    await accounts.verify_email(session, token=body.token, settings=settings, clock=clock)
    return Done(status="email_verified")


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED, responses=problems(EMAIL_ALREADY_VERIFIED))
async def resend_verification(
    authenticated: AuthenticatedDep, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Accepted:
    """A new verification link to the signed-in owner's address; the earlier one stops working."""
    await accounts.resend_verification(session, user_id=authenticated.identity.user_id, settings=settings, clock=clock)
    return Accepted(status="verification_sent")


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: PasswordResetRequest,
    background: BackgroundTasks,
    resources: ResourcesDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Accepted:
    """Emails a reset token to the account with this address, superseding earlier ones. The
    same answer, as fast, when no account has it: the work is done once it is sent."""
    background.add_task(
        accounts.request_password_reset, resources.session_factory, email=body.email, settings=settings, clock=clock
    )
    return Accepted(status="reset_sent")


@router.post("/password-reset/confirm", responses=problems(INVALID_ACCOUNT_TOKEN))
async def reset_password(
    body: PasswordReset, session: SessionDep, settings: SettingsDep, clock: ClockDep, authenticator: AuthenticatorDep
) -> Done:
    """A new password with the emailed token (once, before it expires; 400 `INVALID_TOKEN`
    otherwise). Every session of the account ends."""
    await accounts.reset_password(
        session,
        token=body.token,
        new_password=body.new_password,
        revocations=authenticator.revocations,
        settings=settings,
        clock=clock,
    )
    return Done(status="password_reset")


@router.post("/password", responses=problems(FORBIDDEN, WRONG_PASSWORD, SIGN_IN_LOCKED))
async def change_password(
    body: PasswordChange,
    authenticated: AuthenticatedDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    authenticator: AuthenticatorDep,
) -> Done:
    """A new password for the current one (403 `INVALID_CREDENTIALS` if wrong); every other
    session of the account ends, this one goes on."""
    if authenticated.session_id is None:
        # An API key or an identity provider's token: no password session to keep.
        raise Forbidden("Sign in with your password to change it.")
    await accounts.change_password(
        session,
        user_id=authenticated.identity.user_id,
        session_id=authenticated.session_id,
        current_password=body.current_password,
        new_password=body.new_password,
        lockout=authenticator.sign_in_lockout,
        revocations=authenticator.revocations,
        settings=settings,
        clock=clock,
    )
    return Done(status="password_changed")


@router.post("/token", responses=problems(INVALID_CREDENTIALS, SIGN_IN_LOCKED))
async def issue_token(
    credentials: Credentials,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    authenticator: AuthenticatorDep,
) -> TokenPair:
    """A token pair for an email and password. Attempts are limited per address (the rate
    limiter's `login` class) and failures per email: 429 `SIGN_IN_LOCKED` with `Retry-After`
    once an email has failed too often, whether or not an account has it."""
    return await service.sign_in(
        session,
        email=credentials.email,
        password=credentials.password,
        lockout=authenticator.sign_in_lockout,
        key=await authenticator.signing_key(),
        settings=settings,
        clock=clock,
    )


@router.post("/refresh", responses=problems(INVALID_TOKEN))
async def refresh_tokens(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, clock: ClockDep, authenticator: AuthenticatorDep
) -> TokenPair:
    return await service.rotate_refresh_token(
        session,
        refresh_token=body.refresh_token,
        revocations=authenticator.revocations,
        key=await authenticator.signing_key(),
        settings=settings,
        clock=clock,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(FORBIDDEN))
async def sign_out(
    authenticated: AuthenticatedDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    authenticator: AuthenticatorDep,
) -> None:
    """Signs out: this access token, every token of its session and its refresh token stop working."""
    if authenticated.token_id is None or authenticated.expires_at is None:
        # An API key (revoke it instead) or an identity provider's token without an id.
        raise Forbidden("This credential has no session here to sign out of.")
    await service.sign_out(
        session,
        session_id=authenticated.session_id,
        token_id=authenticated.token_id,
        expires_at=authenticated.expires_at,
        revocations=authenticator.revocations,
        settings=settings,
        now=clock.now(),
    )


@router.get("/me")
async def read_me(authenticated: AuthenticatedDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, user_id=authenticated.identity.user_id))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, responses=problems(FORBIDDEN, TOO_MANY_API_KEYS))
async def create_api_key(
    body: NewApiKeyRequest, authenticated: AuthenticatedDep, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> NewApiKey:
    """A provider's (or an admin's) key with the given scopes; the key is in this answer only."""
    api_key, key = await api_keys.create_api_key(
        session,
        owner=authenticated.identity,
        name=body.name,
        scopes=body.scopes,
        limit=settings.api_key_limit,
        now=clock.now(),
    )
    return NewApiKey(**ApiKeyOut.model_validate(api_key).model_dump(), key=key)


@router.get("/api-keys")
async def list_api_keys(authenticated: AuthenticatedDep, session: SessionDep) -> ApiKeyList:
    found = await api_keys.list_api_keys(session, owner=authenticated.identity)
    return ApiKeyList(items=[ApiKeyOut.model_validate(api_key) for api_key in found])


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: UUID, authenticated: AuthenticatedDep, session: SessionDep, clock: ClockDep) -> None:
    await api_keys.revoke_api_key(session, owner=authenticated.identity, key_id=key_id, now=clock.now())


@router.post("/accounts/republish", responses=problems(FORBIDDEN))
async def republish_accounts(
    _: AdminDep, resources: ResourcesDep, settings: SettingsDep, clock: ClockDep
) -> Republished:
    """Every account announced again (`identity.account_changed`, as it is now), so the services
    that keep a copy of the accounts learn those they have never heard of: the accounts from
    before the event existed. Harmless to repeat; a service keeps the newest it has heard."""
    republished = await directory.republish_accounts(
        resources.session_factory, producer=settings.service_name, clock=clock
    )
    return Republished(republished=republished)


@router.get("/signing-keys")
async def list_signing_keys(_: AdminDep, session: SessionDep, clock: ClockDep) -> SigningKeyList:
    """The keys that verify tokens now, the active one first."""
    return SigningKeyList(
        items=[SigningKeyOut.model_validate(key) for key in await live_keys(session, now=clock.now())]
    )


@router.post("/signing-keys/rotate", status_code=status.HTTP_201_CREATED)
async def rotate_signing_key(_: AdminDep, authenticator: AuthenticatorDep) -> SigningKeyOut:
    """A new active signing key; the previous one verifies until its last token expires."""
    return SigningKeyOut.model_validate(await authenticator.rotate_signing_key())


async def _jwks(response: Response, session: SessionDep, clock: ClockDep) -> JsonWebKeySet:
    response.headers["Cache-Control"] = "public, max-age=60"
    return JsonWebKeySet(keys=await published_jwks(session, now=clock.now()))


router.add_api_route(
    "/jwks", _jwks, methods=["GET"], name="read_jwks", summary="The gateway's public signing keys (JWKS)"
)
well_known_router.add_api_route(
    "/jwks.json",
    _jwks,
    methods=["GET"],
    name="read_well_known_jwks",
    summary="The gateway's public signing keys (JWKS), where OpenID tools look",
)
