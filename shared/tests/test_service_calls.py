"""Calls to an upstream service, read into contract models: its refusals reach the person waiting
as they are, its failures, silence or an answer of an unknown shape are 502 BAD_GATEWAY, fields
it adds are ignored, and whom the call is for goes with every call but public reads."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from devstack.infra import free_port
from shared.auth import INTERNAL_IDENTITY_HEADER, ActingFor, IdentityVerifier
from shared.error_handlers import install_error_handlers
from shared.errors import AppError, Conflict
from shared.http_client import ServiceCalls, service_client
from shared.testing import development_signer, make_identity, trusted_development_key

TRAVELER = make_identity("traveler")


class Seat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    row: int
    number: int


class Asked(BaseModel):
    row: int


def upstream() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/seats")
    async def seat(asked: Asked) -> dict[str, Any]:
        return {"row": asked.row, "number": 7, "added_since": "a field this reader does not know"}

    @app.get("/sold-out")
    async def sold_out() -> None:
        raise Conflict("No seats are left.", error_code="SOLD_OUT", details={"available": 0, "requested": 2})

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("the upstream's own bug")

    @app.get("/other-shape")
    async def other_shape() -> dict[str, str]:
        return {"seat": "7A"}

    @app.get("/plain-refusal")
    async def plain_refusal() -> PlainTextResponse:
        return PlainTextResponse("go away", status_code=403)

    @app.get("/caller")
    async def caller(request: Request) -> dict[str, Any]:
        header = request.headers.get(INTERNAL_IDENTITY_HEADER)
        if header is None:
            return {"row": 0, "number": 0}
        verifier = IdentityVerifier(audience="inventory", issuers={"booking": trusted_development_key("booking")})
        identity = await verifier.verify(header)
        return {"row": 1, "number": 1 if identity.user_id == TRAVELER.user_id else -1}

    @app.delete("/seats/7")
    async def give_back() -> PlainTextResponse:
        return PlainTextResponse(status_code=204)

    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=upstream(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        yield client


def calls_for_traveler(http: httpx.AsyncClient) -> ServiceCalls:
    return ServiceCalls(http, audience="inventory", acting=ActingFor(TRAVELER, development_signer("booking")))


async def test_an_answer_is_read_into_its_model_ignoring_fields_the_reader_does_not_know(
    http: httpx.AsyncClient,
) -> None:
    seat = await calls_for_traveler(http).call("POST", "/seats", body=Asked(row=3), answer=Seat)
    assert seat == Seat(row=3, number=7)
    await calls_for_traveler(http).send("DELETE", "/seats/7")


async def test_a_refusal_passes_through_with_its_status_code_message_and_details(http: httpx.AsyncClient) -> None:
    with pytest.raises(AppError) as refused:
        await calls_for_traveler(http).call("GET", "/sold-out", answer=Seat)
    assert (refused.value.status_code, refused.value.error_code) == (409, "SOLD_OUT")
    assert refused.value.message == "No seats are left."
    assert refused.value.details == {"available": 0, "requested": 2}


async def test_a_refusal_without_a_problem_body_is_a_bad_gateway(http: httpx.AsyncClient) -> None:
    with pytest.raises(AppError) as refused:
        await calls_for_traveler(http).call("GET", "/plain-refusal", answer=Seat)
    assert (refused.value.status_code, refused.value.error_code) == (502, "BAD_GATEWAY")


@pytest.mark.parametrize("path", ["/broken", "/other-shape"])
async def test_a_failing_upstream_or_an_answer_of_another_shape_is_a_bad_gateway(
    http: httpx.AsyncClient, path: str
) -> None:
    with pytest.raises(AppError) as failed:
        await calls_for_traveler(http).call("GET", path, answer=Seat)
    assert (failed.value.status_code, failed.value.error_code) == (502, "BAD_GATEWAY")


async def test_an_upstream_that_cannot_be_reached_is_a_bad_gateway() -> None:
    async with service_client(base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1) as nobody_listening:
        with pytest.raises(AppError) as failed:
            await calls_for_traveler(nobody_listening).call("GET", "/caller", answer=Seat)
    assert (failed.value.status_code, failed.value.error_code) == (502, "BAD_GATEWAY")


async def test_the_person_acted_for_goes_with_every_call_but_public_reads(http: httpx.AsyncClient) -> None:
    calls = calls_for_traveler(http)
    assert await calls.call("GET", "/caller", answer=Seat) == Seat(row=1, number=1)
    assert await calls.call("GET", "/caller", answer=Seat, public=True) == Seat(row=0, number=0)
    anonymous = ServiceCalls(http, audience="inventory", acting=None)
    assert await anonymous.call("GET", "/caller", answer=Seat) == Seat(row=0, number=0)
