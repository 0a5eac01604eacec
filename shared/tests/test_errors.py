"""Every app answers errors in the one body of api.md, with the request id."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from devstack.apps import ALL_APPS, AppSpec
from shared.db import create_engine
from shared.errors import Conflict


class _Party(BaseModel):
    adults: int


def _app_with_failing_routes(spec: AppSpec) -> FastAPI:
    module = __import__(f"{spec.package}.main", fromlist=["build_app"])
    app: FastAPI = module.build_app()

    @app.get("/__test__/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.post("/__test__/party")
    async def party(body: _Party) -> _Party:
        return body

    @app.get("/__test__/sold-out")
    async def sold_out() -> None:
        raise Conflict("No seats left.", error_code="SOLD_OUT", details={"available": 0})

    return app


@pytest.fixture(params=ALL_APPS, ids=lambda spec: spec.name)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = _app_with_failing_routes(request.param)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


def _assert_problem(response: httpx.Response, status: int, error_code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert set(body) == {"status", "error", "error_code", "message", "details", "timestamp", "request_id"}
    assert body["status"] == status
    assert body["error_code"] == error_code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unhandled_error_is_a_500_problem_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/__test__/boom", headers={"X-Request-ID": "req-boom-1"})
    body = _assert_problem(response, 500, "INTERNAL_ERROR")
    assert body["request_id"] == "req-boom-1"
    assert "a bug" not in response.text


async def test_validation_error_is_a_422_naming_the_failing_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/__test__/party", json={"adults": "many"})
    body = _assert_problem(response, 422, "VALIDATION_ERROR")
    details = body["details"]
    assert isinstance(details, dict)
    assert [field["field"] for field in details["fields"]] == ["body.adults"]


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/thing")
    body = _assert_problem(response, 404, "NOT_FOUND")
    assert isinstance(body["request_id"], str)
    assert len(body["request_id"]) >= 16


async def test_domain_error_keeps_its_code_and_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/__test__/sold-out")
    body = _assert_problem(response, 409, "SOLD_OUT")
    assert body["details"] == {"available": 0}


async def test_unsafe_request_id_is_replaced_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith<script>"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != "bad id\twith<script>"


@pytest.mark.parametrize(
    ("sql", "value"),
    [("SELECT CAST(:value AS text)", "nul \x00 inside"), ("SELECT CAST(:value AS numeric(12, 2))", 1e300)],
)
async def test_a_value_the_database_refuses_is_a_422_problem_not_a_500(
    database_url: str, sql: str, value: object
) -> None:
    engine = create_engine(database_url=database_url, schema="public")
    app = _app_with_failing_routes(ALL_APPS[0])

    @app.get("/__test__/store")
    async def store() -> None:
        async with engine.connect() as connection:
            await connection.execute(text(sql), {"value": value})

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get("/__test__/store")
    finally:
        await engine.dispose()

    _assert_problem(response, 422, "VALIDATION_ERROR")
