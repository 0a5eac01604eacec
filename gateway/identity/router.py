from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from gateway.identity import service
from gateway.identity.authenticator import Authenticator
from gateway.identity.schemas import Credentials, RefreshRequest, Registration, TokenPair, UserOut
from gateway.ratelimit.service import FixedWindowLimiter
from gateway.settings import GatewaySettings
from shared.auth import Identity
from shared.clock import Clock
from shared.deps import SessionDep
from shared.errors import Unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["identity"])


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.resources.settings
    return settings


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
ClockDep = Annotated[Clock, Depends(_clock)]


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(registration: Registration, session: SessionDep) -> UserOut:
    user = await service.register_user(session, registration=registration)
    return UserOut.model_validate(user)


@router.post("/token")
async def issue_token(
    credentials: Credentials,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenPair:
    limiter: FixedWindowLimiter = request.app.state.token_limiter
    decision = await limiter.check(request.client.host if request.client else "unknown")
    response.headers.update(decision.headers())
    return await service.sign_in(
        session, email=credentials.email, password=credentials.password, settings=settings, clock=clock
    )


@router.post("/refresh")
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> TokenPair:
    return await service.rotate_refresh_token(session, refresh_token=body.refresh_token, settings=settings, clock=clock)


async def _signed_in(request: Request) -> Identity:
    authenticator: Authenticator = request.app.state.authenticator
    identity = await authenticator.identify(request)
    if identity is None:
        raise Unauthorized("Sign in to do this.")
    return identity


@router.get("/me")
async def me(identity: Annotated[Identity, Depends(_signed_in)], session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, user_id=identity.user_id))
