from fastapi import APIRouter, Request, WebSocket
from starlette.responses import StreamingResponse

from gateway.proxy.service import ProxyPolicy, Upstreams, forward
from gateway.proxy.websocket import relay

router = APIRouter(include_in_schema=False)

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/api/v1/{path:path}", methods=PROXIED_METHODS)
async def proxy_to_owning_service(request: Request) -> StreamingResponse:
    upstreams: Upstreams = request.app.state.upstreams
    policy: ProxyPolicy = request.app.state.proxy_policy
    return await forward(request, upstreams, policy)


@router.websocket("/api/v1/{path:path}")
async def relay_to_owning_service(websocket: WebSocket) -> None:
    upstreams: Upstreams = websocket.app.state.upstreams
    policy: ProxyPolicy = websocket.app.state.proxy_policy
    await relay(websocket, upstreams, policy)
