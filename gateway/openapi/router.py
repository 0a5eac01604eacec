from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

from gateway.openapi.service import OpenApiCache, build_merged_document

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def merged_openapi(request: Request) -> dict[str, Any]:
    cache: OpenApiCache = request.app.state.openapi_cache
    document = cache.fresh()
    if document is None:
        document = await build_merged_document(request.app.openapi(), request.app.state.upstreams)
        cache.keep(document)
    return document


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Travel platform API")
