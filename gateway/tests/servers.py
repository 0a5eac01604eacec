"""Real servers for the gateway's tests: apps on uvicorn in this process (for WebSockets, which
an in-process ASGI client cannot speak), and stand-ins for the services behind the gateway."""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

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
async def served(app: FastAPI, *, lifespan: bool = False) -> AsyncIterator[Served]:
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


def client_address() -> str:
    """An address of the test's own, so per-address rate limits of other tests do not meet it."""
    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))
