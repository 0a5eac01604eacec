"""The gateway forwards /api/v1 to the owning service and answers for it when it cannot."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Header, Request, Response
from pydantic import BaseModel

from devstack.infra import free_port
from gateway.main import build_app
from gateway.settings import GatewaySettings
from shared.auth import INTERNAL_IDENTITY_HEADER, Identity, sign_internal_identity, verify_internal_identity
from shared.migrations import upgrade_to_head


class NewBooking(BaseModel):
    hold_id: str


def _inventory_double() -> FastAPI:
    app = FastAPI(title="Inventory double")

    @app.get("/listings")
    async def search_listings(request: Request) -> dict[str, Any]:
        return {
            "path": request.url.path,
            "query": dict(request.query_params),
            "request_id": request.headers.get("x-request-id"),
            "forwarded_for": request.headers.get("x-forwarded-for"),
            "internal_identity": request.headers.get(INTERNAL_IDENTITY_HEADER),
            "authorization": request.headers.get("authorization"),
        }

    @app.get("/holds/{hold_id}")
    async def slow_hold(hold_id: str) -> dict[str, str]:
        await asyncio.sleep(2)
        return {"id": hold_id}

    @app.get("/internal/reindex")
    async def not_public() -> dict[str, str]:
        return {}

    return app


def _booking_double() -> FastAPI:
    app = FastAPI(title="Booking double")

    @app.post("/bookings", status_code=201)
    async def create_booking(
        body: NewBooking, response: Response, idempotency_key: str = Header(alias="Idempotency-Key")
    ) -> dict[str, str]:
        response.headers["Location"] = "/bookings/b-1"
        return {"hold_id": body.hold_id, "idempotency_key": idempotency_key}

    return app


async def _serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, port


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[httpx.AsyncClient]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    servers = [await _serve(_inventory_double()), await _serve(_booking_double())]
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    settings = GatewaySettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        inventory_url=f"http://127.0.0.1:{servers[0][2]}",
        booking_url=f"http://127.0.0.1:{servers[1][2]}",
        payment_url=nothing_listens,
        notification_url=nothing_listens,
        analytics_url=nothing_listens,
        upstream_timeout_seconds=0.5,
        max_request_body_bytes=1024,
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        # A client address of its own: sign-in attempts are rate limited per address.
        client_host = f"198.18.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            client.headers["Authorization"] = f"Bearer {await _sign_up_and_in(client)}"
            yield client
    for server, task, _ in servers:
        server.should_exit = True
        await task


async def _sign_up_and_in(client: httpx.AsyncClient) -> str:
    email = f"proxy-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery", "name": "Pat"}
    )
    assert registered.status_code == 201, registered.text
    tokens = await client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse battery"})
    access_token: str = tokens.json()["access_token"]
    return access_token


def _problem(response: httpx.Response, status: int, error_code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["error_code"] == error_code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_a_get_reaches_the_owner_without_the_prefix_and_keeps_its_query(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(
        "/api/v1/listings", params={"city": "Lisbon", "party_size": "2"}, headers={"X-Request-ID": "trace-me-1"}
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/listings"
    assert echoed["query"] == {"city": "Lisbon", "party_size": "2"}
    assert echoed["request_id"] == "trace-me-1"
    assert echoed["forwarded_for"].startswith("198.18.")
    assert response.headers["x-request-id"] == "trace-me-1"


async def test_the_owner_gets_a_signed_identity_and_never_the_token_or_a_forged_identity(
    gateway: httpx.AsyncClient,
) -> None:
    forged = sign_internal_identity(
        Identity(user_id=uuid.uuid4(), email="eve@example.com", roles=("admin",)),
        secret="a-guessed-secret-that-is-long-enough-0000",
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )
    echoed = (await gateway.get("/api/v1/listings", headers={INTERNAL_IDENTITY_HEADER: forged})).json()
    assert echoed["authorization"] is None
    identity = verify_internal_identity(echoed["internal_identity"], secret=GatewaySettings().internal_auth_secret)
    assert identity.email.startswith("proxy-")
    assert identity.roles == ("traveler",)

    anonymous = await gateway.get("/api/v1/listings", headers={"Authorization": "", INTERNAL_IDENTITY_HEADER: forged})
    assert anonymous.json()["internal_identity"] is None


async def test_a_route_that_needs_sign_in_is_401_at_the_gateway_without_a_token(gateway: httpx.AsyncClient) -> None:
    del gateway.headers["Authorization"]
    _problem(
        await gateway.post("/api/v1/bookings", json={"hold_id": "h"}, headers={"Idempotency-Key": "k"}),
        401,
        "UNAUTHORIZED",
    )
    _problem(
        await gateway.get("/api/v1/bookings", headers={"Authorization": "Bearer not-a-token"}), 401, "INVALID_TOKEN"
    )


async def test_a_post_keeps_its_body_headers_and_status(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/api/v1/bookings", json={"hold_id": "h-1"}, headers={"Idempotency-Key": "key-123"})
    assert response.status_code == 201
    assert response.json() == {"hold_id": "h-1", "idempotency_key": "key-123"}
    assert response.headers["location"] == "/bookings/b-1"


async def test_the_owners_own_errors_come_back_unchanged(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/api/v1/bookings", json={}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422


async def test_an_unknown_public_path_is_a_404_problem(gateway: httpx.AsyncClient) -> None:
    body = _problem(await gateway.get("/api/v1/spaceships"), 404, "NOT_FOUND")
    assert "/api/v1/spaceships" in body["message"]


async def test_a_service_that_is_down_is_a_502_problem(gateway: httpx.AsyncClient) -> None:
    body = _problem(await gateway.get("/api/v1/fees/quote"), 502, "BAD_GATEWAY")
    assert "payment" in body["message"]


async def test_a_service_that_hangs_is_a_504_problem_within_the_timeout(gateway: httpx.AsyncClient) -> None:
    started = asyncio.get_running_loop().time()
    _problem(await gateway.get("/api/v1/holds/h-9"), 504, "GATEWAY_TIMEOUT")
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_an_oversized_body_is_a_413_problem(gateway: httpx.AsyncClient) -> None:
    big = {"hold_id": "x" * 2000}
    _problem(
        await gateway.post("/api/v1/bookings", json=big, headers={"Idempotency-Key": "k"}), 413, "PAYLOAD_TOO_LARGE"
    )


async def test_the_merged_openapi_has_every_public_path_and_names_missing_services(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Travel platform API"
    assert {"/api/v1/listings", "/api/v1/holds/{hold_id}", "/api/v1/bookings"} <= set(document["paths"])
    assert not any("reindex" in path for path in document["paths"]), "only routed paths are public"
    assert document["components"]["schemas"]["NewBooking"]["properties"]["hold_id"]
    assert document["x-missing-services"] == ["analytics", "notification", "payment"]
    docs = await gateway.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
