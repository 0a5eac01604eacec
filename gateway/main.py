from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from gateway.identity.authenticator import Authenticator
from gateway.identity.router import router as identity_router
from gateway.identity.service import ensure_bootstrap_admin
from gateway.openapi.router import router as openapi_router
from gateway.openapi.service import OpenApiCache
from gateway.proxy.router import router as proxy_router
from gateway.proxy.service import ProxyPolicy, Upstreams
from gateway.ratelimit.service import FixedWindowLimiter
from gateway.settings import GatewaySettings, get_settings
from shared.app import AppResources, create_app
from shared.clock import Clock, SystemClock


def build_app(settings: GatewaySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def open_gateway(app: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        await ensure_bootstrap_admin(resources.session_factory, settings=settings)
        app.state.token_limiter = FixedWindowLimiter(
            resources.redis,
            name="auth-token",
            limit=settings.token_rate_limit,
            window_seconds=settings.token_rate_window_seconds,
        )
        upstreams = Upstreams.open(settings.upstream_urls(), timeout_seconds=settings.upstream_timeout_seconds)
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await upstreams.close()

    # The identity routes come before the proxy's catch-all /api/v1 route.
    app = create_app(
        settings,
        title="Gateway",
        routers=[identity_router, openapi_router, proxy_router],
        lifespan_hook=open_gateway,
        serve_own_openapi=False,
    )
    app.state.clock = clock
    app.state.openapi_cache = OpenApiCache(ttl_seconds=settings.openapi_cache_seconds)
    app.state.authenticator = Authenticator(
        jwt_secret=settings.jwt_secret,
        internal_secret=settings.internal_auth_secret,
        internal_identity_ttl=timedelta(seconds=settings.internal_identity_ttl_seconds),
        clock=clock,
    )
    app.state.proxy_policy = ProxyPolicy(
        authenticator=app.state.authenticator, max_body_bytes=settings.max_request_body_bytes
    )
    return app
