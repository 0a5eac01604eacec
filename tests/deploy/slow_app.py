"""An app built the platform's way with one slow route, for the graceful shutdown test: it notes
in `SLOW_APP_LOG` when a slow request finishes and when the lifespan's shutdown runs."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI

from services.inventory.settings import InventorySettings
from shared.app import AppResources, create_app


def _note(line: str) -> None:
    with Path(os.environ["SLOW_APP_LOG"]).open("a") as log:
        log.write(f"{line}\n")


router = APIRouter()


@router.get("/slow")
async def slow(seconds: float) -> dict[str, str]:
    await asyncio.sleep(seconds)
    _note("request finished")
    return {"status": "done"}


@asynccontextmanager
async def noting_shutdown(_: FastAPI, __: AppResources) -> AsyncIterator[None]:
    yield
    _note("lifespan shut down")


def build_app() -> FastAPI:
    return create_app(InventorySettings(), title="slow", routers=[router], lifespan_hook=noting_shutdown)
