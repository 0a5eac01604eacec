"""The live in-app feed through the gateway's WebSocket proxy: a signed-in user (a browser
offering its token as a subprotocol) hears their new notification; the gateway refuses a
caller who is not signed in before notification hears of it."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from devstack.infra import free_port
from gateway.main import build_app as build_gateway
from gateway.settings import GatewaySettings
from gateway.tests.servers import client_address
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed, running_notification
from shared.auth import IdentityVerifier
from shared.migrations import upgrade_to_head
from shared.tests.servers import served

PASSWORD = "correct horse battery"


@dataclass
class Gateway:
    http: httpx.AsyncClient
    ws_url: str
    address: str


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
async def notification_app(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> AsyncIterator[NotificationApp]:
    async with running_notification(database_url, redis_url, bootstrap_servers, smtp_sink.port) as running:
        yield running


@pytest.fixture
async def gateway(
    notification_app: NotificationApp, database_url: str, redis_url: str, bootstrap_servers: str
) -> AsyncIterator[Gateway]:
    """The gateway in front of the notification app (served on a port of its own), which
    trusts the gateway's signing keys as a deployed one does."""
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    async with served(notification_app.app) as notification:
        settings = GatewaySettings(
            database_url=database_url,
            redis_url=redis_url,
            kafka_bootstrap_servers=bootstrap_servers,
            inventory_url=nothing_listens,
            booking_url=nothing_listens,
            payment_url=nothing_listens,
            notification_url=notification.url,
            analytics_url=nothing_listens,
            upstream_retries=0,
        )
        async with served(build_gateway(settings), lifespan=True) as gateway:
            notification_app.app.state.identity_verifier = IdentityVerifier.for_service(
                "notification", gateway_jwks_url=f"{gateway.url}/.well-known/jwks.json", caller_jwks_urls={}
            )
            address = client_address()
            async with httpx.AsyncClient(base_url=gateway.url, headers={"X-Forwarded-For": address}) as http:
                yield Gateway(http, gateway.ws_url, address)


async def _signed_up(gateway: Gateway) -> tuple[str, uuid.UUID]:
    """A new account's access token and id."""
    email = f"inapp-{uuid.uuid4().hex[:12]}@example.com"
    registered = await gateway.http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ines"}
    )
    assert registered.status_code == 202, registered.text
    token: str = (await gateway.http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})).json()[
        "access_token"
    ]
    me = await gateway.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    return token, uuid.UUID(me.json()["id"])


async def test_a_signed_in_subscriber_hears_their_new_notification_through_the_gateway(
    notification_app: NotificationApp, gateway: Gateway
) -> None:
    token, user_id = await _signed_up(gateway)
    async with connect(
        f"{gateway.ws_url}/api/v1/ws/notifications",
        additional_headers={"X-Forwarded-For": gateway.address},
        subprotocols=[Subprotocol("bearer"), Subprotocol(token)],
        proxy=None,
    ) as live:
        assert live.subprotocol == "bearer"
        await asyncio.sleep(0.3)  # the subscription is in place
        confirmed = booking_confirmed(traveler_id=user_id)
        await notification_app.consume(confirmed)
        pushed = json.loads(await asyncio.wait_for(live.recv(), 5))

    assert pushed["notification"]["subject"] == {"type": "booking", "id": confirmed.payload["booking_id"]}
    listed = await gateway.http.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [pushed["notification"]]


async def test_the_gateway_refuses_the_live_feed_to_a_caller_who_is_not_signed_in(gateway: Gateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"{gateway.ws_url}/api/v1/ws/notifications",
            additional_headers={"X-Forwarded-For": gateway.address},
            proxy=None,
        ):
            pass
    assert refused.value.response.status_code == 401
