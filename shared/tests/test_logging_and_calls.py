"""Logs are JSON lines with the request and correlation ids; calls to other services pass them on."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.context import correlation_id_var, request_id_var
from shared.http_client import service_client
from shared.logging import configure_logging
from shared.tests.servers import served


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root_logger")
def test_a_log_line_is_json_with_service_request_and_correlation_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service_name="booking", level="INFO")
    request_token = request_id_var.set("req-42")
    correlation_token = correlation_id_var.set("flow-7")
    try:
        logging.getLogger("booking.test").info("booking %s confirmed", "TRV-2026-ABCDEF")
    finally:
        request_id_var.reset(request_token)
        correlation_id_var.reset(correlation_token)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "booking TRV-2026-ABCDEF confirmed"
    assert (line["service"], line["request_id"], line["correlation_id"]) == ("booking", "req-42", "flow-7")
    assert line["level"] == "INFO"
    assert "timestamp" in line


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    app = FastAPI()

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, str | None]:
        return {
            "request_id": request.headers.get("x-request-id"),
            "correlation_id": request.headers.get("x-correlation-id"),
        }

    @app.get("/slow")
    async def slow() -> None:
        await asyncio.sleep(1)

    async with served(app) as server:
        yield server.url


async def test_a_call_to_another_service_carries_the_request_and_correlation_ids(echo_server: str) -> None:
    request_token = request_id_var.set("req-99")
    correlation_token = correlation_id_var.set("flow-99")
    try:
        async with service_client(base_url=echo_server) as client:
            echoed = (await client.get("/echo")).json()
    finally:
        request_id_var.reset(request_token)
        correlation_id_var.reset(correlation_token)
    assert echoed == {"request_id": "req-99", "correlation_id": "flow-99"}


async def test_a_call_to_another_service_times_out(echo_server: str) -> None:
    async with service_client(base_url=echo_server, timeout_seconds=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/slow")
