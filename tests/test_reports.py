"""Analytics' reports through the gateway, for this test's own provider and listings: popular
listings (admins), occupancy and cancellations (admins and the provider) agree with figures
worked out by hand from the bookings made, paid and cancelled here; a traveler is refused all
three, a provider popular listings, and another provider sees no listing of this one's."""

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import listing_with_slot, pay, sign_in, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Inês", "email": "ines@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _eventually(read: Callable[[], Any], expected: Any, within: float = 30) -> None:
    """The report reads `expected` once analytics has taken in the flows' events."""
    deadline = time.monotonic() + within
    seen = read()
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = read()
    assert seen == expected


def _get(gateway: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = gateway.get(f"/api/v1/analytics/{path}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_popular_occupancy_and_cancellations_of_a_providers_own_listings(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    stripe = f"http://127.0.0.1:{platform.stripe}"
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    day = date.today() + timedelta(days=30)
    # 40.00 a seat plus 10 % tax: 44.00 a seat.
    kayak, kayak_slot = listing_with_slot(gateway, provider, capacity=10, on=day, title="Report kayak")
    walk, walk_slot = listing_with_slot(gateway, provider, capacity=4, on=day, title="Report walk")
    # A traveler holds one slot once: the kayak's second booking is another traveler's.
    second_traveler = sign_up(gateway, "traveler")
    bookings = []
    for slot_id, adults, who in ((kayak_slot, 2, traveler), (kayak_slot, 3, second_traveler), (walk_slot, 1, traveler)):
        created = gateway.post(
            "/api/v1/bookings", json={"slot_id": slot_id, "adults": adults, "contact": CONTACT}, headers=who
        )
        assert created.status_code == 201, created.text
        assert pay(stripe, created.json()["payment"]["payment_intent_id"], "pm_card_visa").json()["status"] == (
            "succeeded"
        )
        bookings.append((created.json(), who))
    _, travelers, providers = (wait_for_status(gateway, b["id"], who, "confirmed") for b, who in bookings)
    cancel = {"reason": "plans changed"}
    assert gateway.post(f"/api/v1/bookings/{travelers['id']}/cancel", json=cancel, headers=second_traveler).is_success
    assert gateway.post(f"/api/v1/bookings/{providers['id']}/cancel", json=cancel, headers=provider).is_success
    wait_for_status(gateway, providers["id"], traveler, "refunded")

    # Popular: bookings confirmed today (UTC), of this provider's listings.
    today = {
        "from": (date.today() - timedelta(days=1)).isoformat(),
        "to": (date.today() + timedelta(days=1)).isoformat(),
    }
    provider_id = gateway.get("/api/v1/auth/me", headers=provider).json()["id"]

    def popular(by: str) -> list[tuple[object, ...]]:
        ranking = _get(gateway, "popular", admin, **today, by=by, currency="EUR", provider_id=provider_id)
        return [
            (item["rank"], item["title"], item["bookings"], [money["gmv"] for money in item["revenue"]])
            for item in ranking["items"]
        ]

    # The kayak: 2 + 3 seats, 88.00 + 132.00 captured; the walk: 1 seat, 44.00 (then refunded).
    _eventually(lambda: popular("bookings"), [(1, "Report kayak", 2, ["220.00"]), (2, "Report walk", 1, ["44.00"])])
    assert popular("revenue") == popular("bookings")
    walk_money = _get(gateway, "popular", admin, **today, by="bookings", provider_id=provider_id)["items"][1]
    assert walk_money["revenue"] == [{"currency": "EUR", "gmv": "44.00", "refunds": "44.00", "net": "0.00"}]

    # Occupancy on the slots' day: the kayak kept 2 of its 10 seats sold, the walk none of 4.
    on_the_day = {"from": day.isoformat(), "to": day.isoformat()}

    def occupancy(group_by: str) -> list[tuple[object, ...]]:
        report = _get(gateway, "occupancy", provider, **on_the_day, group_by=group_by)
        return sorted(
            (item["title"], item["slots"], item["seats_sold"], item["capacity"], item["occupancy"])
            for item in report["items"]
        )

    expected_occupancy = [("Report kayak", 1, 2, 10, 0.2), ("Report walk", 1, 0, 4, 0.0)]
    _eventually(lambda: occupancy("slot"), expected_occupancy)
    assert occupancy("day") == expected_occupancy
    only_the_kayak = _get(gateway, "occupancy", admin, **on_the_day, listing_id=kayak, group_by="slot")["items"]
    assert [(item["slot_id"], item["seats_sold"]) for item in only_the_kayak] == [(kayak_slot, 2)]

    # Cancellations on the slots' day: the kayak 1 of 2 (by the traveler), the walk 1 of 1 (by the provider).
    def outcomes(group_by: str, viewer: dict[str, str]) -> list[tuple[object, ...]]:
        report = _get(gateway, "cancellations", viewer, **on_the_day, group_by=group_by, limit=1000)
        mine = [item for item in report["items"] if item["provider_id"] == provider_id]
        return sorted(
            (
                item["title"],
                item["confirmed"],
                item["open"],
                item["cancelled_by_traveler"],
                item["cancelled_by_provider"],
                item["no_shows"],
                item["cancellation_rate"],
            )
            for item in mine
        )

    _eventually(
        lambda: outcomes("listing", provider),
        [("Report kayak", 2, 1, 1, 0, 0, 0.5), ("Report walk", 1, 0, 0, 1, 0, 1.0)],
    )
    assert outcomes("provider", provider) == [(None, 3, 1, 1, 1, 0, 0.6667)]
    assert outcomes("provider", admin) == outcomes("provider", provider)

    # Who may see what.
    someone_else = sign_up(gateway, "provider")
    for path in ("popular", "occupancy", "cancellations"):
        refused = gateway.get(f"/api/v1/analytics/{path}", params=on_the_day, headers=traveler)
        assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN"), path
    refused = gateway.get("/api/v1/analytics/popular", params=on_the_day, headers=provider)
    assert refused.status_code == 403
    hidden = gateway.get("/api/v1/analytics/occupancy", params=on_the_day | {"listing_id": kayak}, headers=someone_else)
    assert (hidden.status_code, hidden.json()["error_code"]) == (404, "NOT_FOUND")
    assert _get(gateway, "cancellations", someone_else, **on_the_day)["items"] == []
    assert _get(gateway, "occupancy", someone_else, **on_the_day)["items"] == []
    assert [
        item["seats_sold"] for item in _get(gateway, "occupancy", provider, **on_the_day, listing_id=walk)["items"]
    ] == [0]
