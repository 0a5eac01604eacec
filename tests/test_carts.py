"""Mixed carts through the gateway: one checkout books the instant items under one payment,
asks providers for the request items, gives tracked links for the external ones and hands the
expert item over; an instant item that is gone is named, and nothing is charged for it."""

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.flows import LISTING, listing_with_slot, pay, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Mara", "email": "mara@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _add(gateway: httpx.Client, cart_id: str, traveler: dict[str, str], item: dict[str, Any]) -> httpx.Response:
    return gateway.post(f"/api/v1/carts/{cart_id}/items", json=item, headers=traveler)


def _intent(platform: PlatformPorts, intent_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{platform.stripe}/v1/payment_intents/{intent_id}", auth=("sk_test_client", "")
    ).json()
    return answer


def test_a_cart_of_all_four_kinds_checks_out_into_one_payment_a_request_links_and_a_handoff(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    tour_guide, host, restaurant = (
        sign_up(gateway, "provider"),
        sign_up(gateway, "provider"),
        sign_up(gateway, "provider"),
    )
    traveler, someone_else, expert = (
        sign_up(gateway, "traveler"),
        sign_up(gateway, "traveler"),
        sign_up(gateway, "expert"),
    )
    expert_id = gateway.get("/api/v1/auth/me", headers=expert).json()["id"]
    day = date.today() + timedelta(days=25)
    _, tour_slot = listing_with_slot(gateway, tour_guide, capacity=4, on=day)
    _, last_seat = listing_with_slot(gateway, tour_guide, capacity=1, on=day, title="Tiny boat tour")
    _, dinner_slot = listing_with_slot(
        gateway, restaurant, capacity=10, on=day, booking_mode="request", category="meal"
    )
    hotel = gateway.post(
        "/api/v1/listings", json=LISTING | {"booking_mode": "external", "category": "accommodation"}, headers=host
    )
    assert hotel.status_code == 201, hotel.text

    cart = gateway.post("/api/v1/carts", headers=traveler)
    assert cart.status_code == 201, cart.text
    cart_id = cart.json()["id"]
    items = [
        {"kind": "instant", "slot_id": tour_slot, "adults": 2},
        {"kind": "instant", "slot_id": last_seat, "adults": 1},
        {"kind": "request", "slot_id": dinner_slot, "adults": 2, "message": "A table by the window?"},
        {"kind": "external", "listing_id": hotel.json()["id"]},
        {"kind": "expert", "expert_id": expert_id, "description": "Two more days in the Douro valley"},
    ]
    for item in items:
        added = _add(gateway, cart_id, traveler, item)
        assert added.status_code == 201, added.text
    assert len(gateway.get(f"/api/v1/carts/{cart_id}", headers=traveler).json()["items"]) == 5
    # The last seat of the small tour goes to someone else before checkout.
    assert (
        gateway.post("/api/v1/holds", json={"slot_id": last_seat, "adults": 1}, headers=someone_else).status_code == 201
    )

    checkout = gateway.post(f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT}, headers=traveler)
    assert checkout.status_code == 200, checkout.text
    answer = checkout.json()

    [booked] = answer["bookings"]
    assert (booked["booking"]["status"], booked["booking"]["total"]) == ("pending_payment", "88.00")
    [gone] = answer["unavailable"]
    assert (gone["kind"], gone["error_code"]) == ("instant", "SOLD_OUT")
    [requested] = answer["requests"]
    assert requested["request"]["status"] == "pending_provider"
    [linked] = answer["links"]
    assert {link["partner"] for link in linked["links"]} >= {"booking_com"}
    assert all(link["url"].endswith(f"/r/{link['code']}") for link in linked["links"])
    [handed] = answer["handoffs"]
    assert (handed["handoff"]["status"], handed["handoff"]["expert_id"]) == ("requested", expert_id)
    # Only the instant booking that could be had is charged, as one payment; the platform keeps 15 %.
    assert answer["amount_due_now"] == {"amount": "88.00", "currency": "EUR"}
    assert answer["platform_fee"] == {"amount": "13.20", "currency": "EUR"}
    intent_id = answer["payment"]["payment_intent_id"]
    assert _intent(platform, intent_id)["amount"] == 8800
    assert booked["booking"]["payment"]["payment_intent_id"] == intent_id

    again = gateway.post(f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT}, headers=traveler)
    assert again.json() == answer, "a repeated checkout does nothing again"
    assert _add(gateway, cart_id, traveler, items[0]).json()["error_code"] == "CART_CHECKED_OUT"

    assert pay(f"http://127.0.0.1:{platform.stripe}", intent_id, "pm_card_visa").json()["status"] == "succeeded"
    confirmed = wait_for_status(gateway, booked["booking"]["id"], traveler, "confirmed")
    assert confirmed["reference"].startswith("TRV-")
    provider_view = gateway.get(f"/api/v1/booking-requests/{requested['request']['id']}", headers=restaurant)
    assert provider_view.status_code == 200, provider_view.text


def test_a_cart_with_two_providers_is_paid_once_and_each_booking_is_confirmed(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    guide, driver, traveler = sign_up(gateway, "provider"), sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    day = date.today() + timedelta(days=26)
    _, tour = listing_with_slot(gateway, guide, capacity=4, on=day)
    _, transfer = listing_with_slot(gateway, driver, capacity=4, on=day, category="transport", base_price="20.00")
    cart_id = gateway.post("/api/v1/carts", headers=traveler).json()["id"]
    for slot_id in (tour, transfer):
        assert _add(gateway, cart_id, traveler, {"kind": "instant", "slot_id": slot_id, "adults": 2}).status_code == 201

    keyed = traveler | {"Idempotency-Key": f"checkout-{cart_id}"}
    answer = gateway.post(f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT}, headers=keyed).json()
    replayed = gateway.post(f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT}, headers=keyed)
    assert replayed.json() == answer
    reused = gateway.post(
        f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT | {"name": "Someone"}}, headers=keyed
    )
    assert (reused.status_code, reused.json()["error_code"]) == (422, "IDEMPOTENCY_KEY_REUSED")

    assert answer["amount_due_now"] == {"amount": "132.00", "currency": "EUR"}
    assert (
        pay(f"http://127.0.0.1:{platform.stripe}", answer["payment"]["payment_intent_id"], "pm_card_visa").json()[
            "status"
        ]
        == "succeeded"
    )
    for booked in answer["bookings"]:
        wait_for_status(gateway, booked["booking"]["id"], traveler, "confirmed")
    seen_by_driver = gateway.get("/api/v1/bookings", headers=driver).json()["items"]
    assert [booking["total"] for booking in seen_by_driver] == ["44.00"]

    # One booking of the cart is cancelled: its share of the one payment goes back, no more.
    transfer_booking = seen_by_driver[0]
    cancelled = gateway.post(
        f"/api/v1/bookings/{transfer_booking['id']}/cancel", json={"reason": "we rent a car"}, headers=traveler
    )
    assert cancelled.json()["refund"] == {"amount": "44.00", "currency": "EUR"}
    wait_for_status(gateway, transfer_booking["id"], traveler, "refunded")
    charge = _intent(platform, answer["payment"]["payment_intent_id"])["latest_charge"]
    assert charge["amount_refunded"] == 4400
    tour_booking = next(b["booking"] for b in answer["bookings"] if b["booking"]["id"] != transfer_booking["id"])
    assert gateway.get(f"/api/v1/bookings/{tour_booking['id']}", headers=traveler).json()["status"] == "confirmed"


def test_items_must_suit_their_listing_and_carts_are_their_travelers_own(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler, stranger = (
        sign_up(gateway, "provider"),
        sign_up(gateway, "traveler"),
        sign_up(gateway, "traveler"),
    )
    _, slot_id = listing_with_slot(gateway, provider, capacity=4, on=date.today() + timedelta(days=27))
    cart_id = gateway.post("/api/v1/carts", headers=traveler).json()["id"]

    wrong_kind = _add(gateway, cart_id, traveler, {"kind": "request", "slot_id": slot_id, "adults": 1})
    assert (wrong_kind.status_code, wrong_kind.json()["error_code"]) == (409, "WRONG_ITEM_KIND")
    unknown_kind = _add(gateway, cart_id, traveler, {"kind": "spa", "slot_id": slot_id})
    assert (unknown_kind.status_code, unknown_kind.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert gateway.get(f"/api/v1/carts/{cart_id}", headers=stranger).status_code == 404
    assert _add(gateway, cart_id, stranger, {"kind": "instant", "slot_id": slot_id}).status_code == 404
    empty = gateway.post(f"/api/v1/carts/{cart_id}/checkout", json={"contact": CONTACT}, headers=traveler)
    assert empty.status_code == 422
    assert gateway.get(f"/api/v1/carts/{cart_id}", headers=traveler).json()["items"] == []
