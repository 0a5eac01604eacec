from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway.identity.authenticator import Authenticator
from gateway.identity.router import router as identity_router
from gateway.identity.router import well_known_router
from gateway.identity.service import ensure_bootstrap_admin
from gateway.openapi.router import router as openapi_router
from gateway.openapi.service import OpenApiCache
from gateway.proxy.metrics import UpstreamMetrics
from gateway.proxy.paths import PathCheckMiddleware
from gateway.proxy.router import router as proxy_router
from gateway.proxy.security import install_edge_middleware
from gateway.proxy.service import ProxyPolicy, Upstreams
from gateway.proxy.timeouts import RouteTimeouts
from gateway.ratelimit.classes import RateLimit, rate_classes
from gateway.ratelimit.middleware import RateLimitMiddleware
from gateway.ratelimit.service import RateLimiter, connect_limiter_redis
from gateway.settings import GatewaySettings, get_settings
from shared.app import AppResources, create_app
from shared.clock import Clock, SystemClock


def build_app(settings: GatewaySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    authenticator = Authenticator(settings=settings, clock=clock)

    @asynccontextmanager
    async def open_gateway(app: FastAPI, resources: AppResources) -> AsyncIterator[None]:
        await ensure_bootstrap_admin(resources.session_factory, settings=settings, clock=clock)
        await authenticator.open(resources.session_factory, resources.redis)
        limiter_redis = connect_limiter_redis(
            settings.redis_url, timeout_seconds=settings.rate_limit_redis_timeout_seconds
        )
        app.state.rate_limiter = RateLimiter(
            limiter_redis,
            classes=rate_classes(
                login=RateLimit(per_ip=settings.token_rate_limit, window_seconds=settings.token_rate_window_seconds),
                overrides=settings.rate_limits,
                scale=settings.rate_limit_scale,
            ),
            clock=clock,
            registry=resources.metrics.registry,
        )
        upstreams = Upstreams.open(
            settings.upstream_urls(),
            timeout_seconds=settings.upstream_timeout_seconds,
            failure_threshold=settings.circuit_failure_threshold,
            cooldown=timedelta(seconds=settings.circuit_cooldown_seconds),
            clock=clock,
            metrics=upstream_metrics,
        )
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await upstreams.close()
            await limiter_redis.aclose()

    # The identity routes come before the proxy's catch-all /api/v1 route.
    app = create_app(
        settings,
        title="Gateway",
        routers=[identity_router, well_known_router, openapi_router, proxy_router],
        lifespan_hook=open_gateway,
        serve_own_openapi=False,
        inner_middleware=[Middleware(PathCheckMiddleware), Middleware(RateLimitMiddleware)],
    )
    install_edge_middleware(app, cors_origins=settings.cors_origins)
    upstream_metrics = UpstreamMetrics.register(app.state.metrics.registry)
    app.state.clock = clock
    app.state.trusted_proxies = tuple(settings.trusted_proxies)
    app.state.openapi_cache = OpenApiCache(ttl_seconds=settings.openapi_cache_seconds)
    app.state.authenticator = authenticator
    app.state.proxy_policy = ProxyPolicy(
        max_body_bytes=settings.max_request_body_bytes,
        timeouts=RouteTimeouts(
            read=settings.upstream_read_timeout_seconds,
            default=settings.upstream_timeout_seconds,
            slow=settings.upstream_slow_timeout_seconds,
        ),
        retries=settings.upstream_retries,
        idle_websocket_seconds=settings.websocket_idle_seconds,
    )
    return app
