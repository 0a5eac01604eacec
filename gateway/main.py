from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.openapi.router import router as openapi_router
from gateway.openapi.service import OpenApiCache
from gateway.proxy.router import router as proxy_router
from gateway.proxy.service import Upstreams
from gateway.settings import GatewaySettings, get_settings
from shared.app import AppResources, create_app


def build_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def open_upstreams(app: FastAPI, _: AppResources) -> AsyncIterator[None]:
        upstreams = Upstreams.open(settings.upstream_urls(), timeout_seconds=settings.upstream_timeout_seconds)
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await upstreams.close()

    app = create_app(
        settings,
        title="Gateway",
        routers=[openapi_router, proxy_router],
        lifespan_hook=open_upstreams,
        serve_own_openapi=False,
    )
    app.state.openapi_cache = OpenApiCache(ttl_seconds=settings.openapi_cache_seconds)
    app.state.max_request_body_bytes = settings.max_request_body_bytes
    return app
