"""An instant booking end to end: gateway → hold → booking → Stripe → webhook → confirmed →
email with an invite → revenue; and the ways it can fail, with seats and money where they belong."""

import asyncio
import time
import uuid
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from tests.flows import (
    available_seats,
    listing_with_slot,
    mail_about,
    pay,
    sign_in,
    sign_up,
    tomorrow,
    wait_for_status,
)
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _book(gateway: httpx.Client, traveler: dict[str, str], hold_id: str, key: str | None = None) -> httpx.Response:
    headers = traveler | ({"Idempotency-Key": key} if key else {})
    body = {
        "hold_id": hold_id,
        "contact": {"name": "Ana Traveler", "email": "ana@example.com"},
        "payment_option": "full",
    }
    return gateway.post("/api/v1/bookings", json=body, headers=headers)


def test_an_instant_booking_is_paid_confirmed_emailed_and_counted(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=8)

    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 2}, headers=traveler)
    assert hold.status_code == 201, hold.text
    assert available_seats(gateway, listing_id) == 6

    key = f"book-{uuid.uuid4()}"
    created = _book(gateway, traveler, hold.json()["id"], key)
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "pending_payment"
    assert booking["reference"].startswith("TRV-")
    assert Decimal(booking["total"]) == Decimal("88.00")
    assert booking["payment"]["client_secret"]
    assert _book(gateway, traveler, hold.json()["id"], key).json() == booking, "a retry gets the first answer"

    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")

    mail = mail_about(platform.mail_http, booking["reference"])
    assert mail["rcpt_tos"] == ["ana@example.com"]
    attachments = mail["attachments"]
    assert isinstance(attachments, list)
    assert any(part["content_type"] == "text/calendar" for part in attachments)
    assert "BEGIN:VCALENDAR" in str(mail["raw"]) or "text/calendar" in str(mail["raw"])

    time.sleep(1.5)  # past the hold's own bookkeeping: the seats stay sold
    assert available_seats(gateway, listing_id) == 6

    admin = sign_in(gateway, "admin@travel.example", "admin-password-change-me")
    today = time.strftime("%Y-%m-%d")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        revenue = gateway.get(
            "/api/v1/analytics/revenue", params={"from": today, "to": today, "group_by": "provider"}, headers=admin
        ).json()
        mine = [group for group in revenue["groups"] if group["currency"] == "EUR"]
        if mine and Decimal(mine[0]["gmv"]) >= Decimal("88.00"):
            break
        time.sleep(0.3)
    provider_view = gateway.get(
        "/api/v1/analytics/revenue", params={"from": today, "to": today, "group_by": "day"}, headers=provider
    ).json()
    assert [(Decimal(group["gmv"]), Decimal(group["platform_fees"])) for group in provider_view["groups"]] == [
        (Decimal("88.00"), Decimal("13.20"))
    ]


def test_a_declined_card_fails_the_booking_and_frees_its_seats(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4)
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 3}, headers=traveler).json()
    booking = _book(gateway, traveler, hold["id"]).json()
    assert available_seats(gateway, listing_id) == 1

    # localstripe declines this card when it is charged (its pm_card_visa_chargeDeclined only
    # fails when attached to a customer).
    declined = pay(
        f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_chargeCustomerFail"
    )
    assert declined.status_code == 402
    wait_for_status(gateway, booking["id"], traveler, "payment_failed")
    deadline = time.monotonic() + 20
    while available_seats(gateway, listing_id) != 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert available_seats(gateway, listing_id) == 4


def test_a_booking_is_seen_by_its_traveler_and_provider_only_in_the_listings_local_time(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=2, timezone="Asia/Kathmandu")
    hold = gateway.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler).json()
    booking = _book(gateway, traveler, hold["id"]).json()
    read = gateway.get(f"/api/v1/bookings/{booking['id']}", headers=provider)
    assert read.status_code == 200
    # The slot is at 10:00 in Kathmandu, which is UTC+05:45 all year.
    starts = f"{tomorrow().isoformat()}T10:00:00+05:45"
    for shown in (hold, read.json()):
        assert (shown["timezone"], shown["local_starts_at"]) == ("Asia/Kathmandu", starts)
        assert datetime.fromisoformat(shown["starts_at"]) == datetime.fromisoformat(starts)
    stranger = sign_up(gateway, "traveler")
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=stranger).status_code == 404
    assert gateway.get(f"/api/v1/bookings/reference/{booking['reference']}", headers=stranger).status_code == 404
    assert gateway.get(f"/api/v1/bookings/{booking['id']}").status_code == 401
    other_hold = _book(gateway, stranger, hold["id"])
    assert other_hold.status_code == 404


def test_booking_a_slot_directly_holds_it_for_the_traveler(platform: PlatformPorts, gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=5)
    body = {"slot_id": slot_id, "adults": 2, "children": 1, "contact": {"name": "Ana", "email": "ana@example.com"}}
    created = gateway.post("/api/v1/bookings", json=body, headers=traveler)
    assert created.status_code == 201, created.text
    assert (created.json()["seats"], Decimal(created.json()["total"])) == (3, Decimal("118.80"))
    assert available_seats(gateway, listing_id) == 2
    # Asked by someone else: the traveler already holds this slot, once at a time (fair use).
    too_many = gateway.post("/api/v1/bookings", json=body | {"adults": 3}, headers=sign_up(gateway, "traveler"))
    assert too_many.status_code == 409
    assert too_many.json()["error_code"] == "SOLD_OUT"
    assert available_seats(gateway, listing_id) == 2


def test_concurrent_retries_with_one_idempotency_key_make_one_booking(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=10)
    body = {"slot_id": slot_id, "adults": 1, "contact": {"name": "Ana", "email": "ana@example.com"}}
    key = f"retry-{uuid.uuid4()}"

    async def retries() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post("/api/v1/bookings", json=body, headers=traveler | {"Idempotency-Key": key})
                    for _ in range(8)
                )
            )

    answers = asyncio.run(retries())
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert available_seats(gateway, listing_id) == 9, "one hold, not eight"
    reused = gateway.post("/api/v1/bookings", json=body | {"adults": 2}, headers=traveler | {"Idempotency-Key": key})
    assert reused.status_code == 422
    assert reused.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert available_seats(gateway, listing_id) == 9
