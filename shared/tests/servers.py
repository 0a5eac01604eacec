"""Real servers for tests: an app on uvicorn in this process, for code that must reach it over
the network (a WebSocket, which an in-process ASGI client cannot speak, or a client of its own)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from devstack.infra import free_port


@dataclass(frozen=True)
class Served:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def served(app: ASGIApp, *, lifespan: bool = False) -> AsyncIterator[Served]:
    """`app` served on a free port of 127.0.0.1 for the block."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on" if lifespan else "off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
        yield Served(port)
    finally:
        server.should_exit = True
        await task
