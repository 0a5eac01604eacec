from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from gateway.proxy.service import Upstreams, forward

router = APIRouter(include_in_schema=False)

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/api/v1/{path:path}", methods=PROXIED_METHODS)
async def proxy_to_owning_service(request: Request) -> StreamingResponse:
    upstreams: Upstreams = request.app.state.upstreams
    return await forward(request, upstreams, max_body_bytes=request.app.state.max_request_body_bytes)
