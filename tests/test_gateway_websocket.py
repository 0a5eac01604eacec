"""The availability feed through the gateway, as a browser would use it: subscribe with the token
as a subprotocol (or not at all), make a hold, hear the change."""

import json
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.flows import listing_with_slot, sign_up
from tests.running_platform import PlatformPorts

CAPACITY = 20
# A subscription is in place a moment after the handshake: holds are made until it hears one.
ATTEMPTS = 10


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _subscribe(platform: PlatformPorts, listing_id: str, token: str | None = None) -> ClientConnection:
    url = platform.gateway_url.replace("http://", "ws://") + f"/api/v1/ws/availability?listing_id={listing_id}"
    subprotocols = [Subprotocol("bearer"), Subprotocol(token)] if token else None
    return connect(url, subprotocols=subprotocols, proxy=None, open_timeout=10)


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _next_change(connection: ClientConnection) -> dict[str, Any] | None:
    try:
        message: dict[str, Any] = json.loads(connection.recv(timeout=2))
    except TimeoutError:
        return None
    return message


def test_a_hold_reaches_the_listings_watchers_through_the_gateway_the_owner_with_what_changed(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider = sign_up(gateway, "provider")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=CAPACITY)

    with ExitStack() as stack:
        owner = stack.enter_context(_subscribe(platform, listing_id, _token(provider)))
        anyone = stack.enter_context(_subscribe(platform, listing_id))
        assert owner.subprotocol == "bearer"
        heard: dict[str, dict[str, Any]] = {}
        for _ in range(ATTEMPTS):
            # Each hold by a traveler of its own: one traveler holds a slot once at a time.
            holder = sign_up(gateway, "traveler")
            hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=holder)
            assert hold.status_code == 201, hold.text
            for name, connection in (("owner", owner), ("anyone", anyone)):
                if name not in heard and (change := _next_change(connection)) is not None:
                    heard[name] = change
            if len(heard) == 2:
                break

    assert set(heard) == {"owner", "anyone"}, "both watchers heard a hold"
    for change in heard.values():
        assert change["type"] == "availability.changed"
        assert (change["listing_id"], change["slot_id"], change["capacity"]) == (listing_id, slot_id, CAPACITY)
        assert change["available"] < CAPACITY
    # The owner was known to inventory (the gateway vouched for them) and sees what changed.
    assert heard["owner"]["change"] == "hold_placed"
    assert "change" not in heard["anyone"]


def test_a_forged_token_is_refused_at_the_gateway(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider = sign_up(gateway, "provider")
    listing_id, _ = listing_with_slot(gateway, provider, capacity=CAPACITY)
    with pytest.raises(InvalidStatus) as refused, _subscribe(platform, listing_id, "not.a.token"):
        pass
    assert refused.value.response.status_code == 401
