"""Expert-assisted trips through the gateway: a traveler hands a trip to an expert, who accepts,
plans the trip's items, completes it for the traveler to approve; an expert with the personal-assistant privilege
and the traveler's grant books for them on their saved card, logged as the expert acting for
the traveler; every other expert is refused."""

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.flows import available_seats, listing_with_slot, mail_about, sign_in, sign_up, wait_for_status
from tests.running_platform import PlatformPorts

EXPERT_CONSOLE = {"User-Agent": "expert-console/1.0"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


@pytest.fixture
def admin(gateway: httpx.Client) -> dict[str, str]:
    return sign_in(gateway, "admin@travel.example", "admin-password-change-me")


def _id_of(gateway: httpx.Client, user: dict[str, str]) -> str:
    me = gateway.get("/api/v1/auth/me", headers=user)
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


def _accepted_handoff(gateway: httpx.Client, traveler: dict[str, str], expert: dict[str, str]) -> dict[str, Any]:
    requested = gateway.post(
        "/api/v1/expert-handoffs",
        json={"expert_id": _id_of(gateway, expert), "description": "A weekend in Lisbon, on the water"},
        headers=traveler,
    )
    assert requested.status_code == 201, requested.text
    accepted = gateway.post(f"/api/v1/expert-handoffs/{requested.json()['id']}/accept", headers=expert)
    assert accepted.status_code == 200, accepted.text
    answer: dict[str, Any] = accepted.json()
    return answer


def _privilege(gateway: httpx.Client, admin: dict[str, str], expert: dict[str, str], *, allowed: bool) -> None:
    answer = gateway.put(
        f"/api/v1/admin/experts/{_id_of(gateway, expert)}", json={"personal_assistant": allowed}, headers=admin
    )
    assert answer.status_code == 200, answer.text


def _grant(gateway: httpx.Client, traveler: dict[str, str], expert: dict[str, str]) -> dict[str, Any]:
    granted = gateway.post(
        "/api/v1/expert-grants",
        json={"expert_id": _id_of(gateway, expert), "spending_limit": {"amount": "500.00", "currency": "EUR"}},
        headers=traveler,
    )
    assert granted.status_code == 201, granted.text
    answer: dict[str, Any] = granted.json()
    return answer


def _save_card(gateway: httpx.Client, traveler: dict[str, str]) -> None:
    saved = gateway.post("/api/v1/payments/methods", json={"payment_method": "pm_card_visa"}, headers=traveler)
    assert saved.status_code == 201, saved.text


def _book_on_behalf(
    gateway: httpx.Client, expert: dict[str, str], handoff_id: str, slot_id: str, key: str | None = None
) -> httpx.Response:
    return gateway.post(
        f"/api/v1/expert-handoffs/{handoff_id}/book-on-behalf",
        json={"slot_id": slot_id, "adults": 2},
        headers=expert | EXPERT_CONSOLE | ({"Idempotency-Key": key} if key else {}),
    )


def test_a_trip_handed_to_an_expert_is_accepted_planned_completed_and_approved(gateway: httpx.Client) -> None:
    traveler, expert, other_expert = (
        sign_up(gateway, "traveler"),
        sign_up(gateway, "expert"),
        sign_up(gateway, "expert"),
    )
    requested = gateway.post(
        "/api/v1/expert-handoffs",
        json={
            "expert_id": _id_of(gateway, expert),
            "description": "Five days in Portugal for two",
            "start_date": "2031-06-01",
            "end_date": "2031-06-05",
            "budget": {"amount": "2000.00", "currency": "EUR"},
        },
        headers=traveler,
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "requested"
    path = f"/api/v1/expert-handoffs/{requested.json()['id']}"

    assert gateway.get(path, headers=other_expert).status_code == 404
    assert gateway.post(f"{path}/accept", headers=other_expert).status_code == 404
    assert gateway.post(f"{path}/accept", headers=traveler).status_code == 403
    assert gateway.post(f"{path}/accept", headers=expert).json()["status"] == "accepted"
    accepted = gateway.get(path, headers=traveler).json()
    trip_path = f"/api/v1/trips/{accepted['trip_id']}"
    for day, title, start_time in ((2, "Sunset kayak tour", "18:30"), (3, "Sintra day trip", None)):
        planned = gateway.post(
            f"{trip_path}/items",
            json={"day": day, "type": "activity", "title": title, "start_time": start_time},
            headers=expert,
        )
        assert planned.status_code == 201, planned.text
    assert [(item["title"], item["date"], item["awaiting_approval"]) for item in planned.json()["items"]] == [
        ("Sunset kayak tour", "2031-06-02", True),
        ("Sintra day trip", "2031-06-03", True),
    ]
    assert planned.json()["status"] == "expert_review"
    assert gateway.get(trip_path, headers=other_expert).status_code == 404
    refused = gateway.post(f"{trip_path}/items", json={"day": 1, "type": "meal", "title": "x"}, headers=other_expert)
    assert refused.status_code == 404
    assert gateway.post(f"{path}/complete", headers=expert).json()["status"] == "completed"
    approved = gateway.post(f"{path}/approve", headers=traveler)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["fee_percentage"]) == ("approved", "10.00")
    trip = gateway.get(trip_path, headers=traveler).json()
    assert [item["awaiting_approval"] for item in trip["items"]] == [False, False]
    assert trip["status"] == "draft"

    mine = gateway.get("/api/v1/expert-handoffs", headers=traveler).json()["items"]
    assert [(handoff["id"], handoff["status"]) for handoff in mine] == [(requested.json()["id"], "approved")]
    assert gateway.get("/api/v1/expert-handoffs", headers=other_expert).json()["items"] == []


def test_an_expert_with_the_privilege_and_a_grant_books_for_the_traveler_on_their_saved_card(
    platform: PlatformPorts, gateway: httpx.Client, admin: dict[str, str]
) -> None:
    provider, traveler, expert = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4)
    _privilege(gateway, admin, expert, allowed=True)
    _save_card(gateway, traveler)
    grant = _grant(gateway, traveler, expert)
    handoff = _accepted_handoff(gateway, traveler, expert)

    key = f"on-behalf-{uuid.uuid4()}"
    booked = _book_on_behalf(gateway, expert, handoff["id"], slot_id, key)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert _book_on_behalf(gateway, expert, handoff["id"], slot_id, key).json() == booking, "a retry books nothing"
    assert (booking["status"], booking["total"], booking["seats"]) == ("pending_payment", "88.00", 2)
    assert booking["booked_by_expert_id"] == _id_of(gateway, expert)
    assert booking["payment"]["client_secret"] is None, "the traveler's to pay with, not the expert's"
    confirmed = wait_for_status(gateway, booking["id"], traveler, "confirmed")
    assert confirmed["reference"] == booking["reference"]
    assert available_seats(gateway, listing_id) == 2

    # The booking's history names the expert, acting for the traveler, and where it came from.
    history = gateway.get(f"/api/v1/bookings/{booking['id']}/history", headers=traveler).json()["items"]
    assert [(change["action"], change["actor"]["role"]) for change in history] == [
        ("created", "expert"),
        ("paid", "system"),
        ("confirmed", "system"),
    ]
    created = history[0]
    assert (created["actor"]["id"], created["on_behalf_of"]) == (_id_of(gateway, expert), _id_of(gateway, traveler))
    as_ops = gateway.get(f"/api/v1/bookings/{booking['id']}/history", headers=admin).json()["items"][0]
    assert (as_ops["ip"], as_ops["user_agent"]) == ("127.0.0.1", "expert-console/1.0")

    # The expert follows it through the handoff, with their fee; the booking itself is the traveler's.
    seen = gateway.get(f"/api/v1/expert-handoffs/{handoff['id']}", headers=expert).json()
    assert [(made["reference"], made["status"], made["expert_fee"]) for made in seen["bookings"]] == [
        (booking["reference"], "confirmed", "8.80")
    ]
    assert gateway.get(f"/api/v1/bookings/{booking['id']}", headers=expert).status_code == 404
    told = mail_about(platform.mail_http, f"Your expert booked Sunset kayak tour for you ({booking['reference']})")
    assert told["rcpt_tos"] == [gateway.get("/api/v1/auth/me", headers=traveler).json()["email"]]
    grants = gateway.get("/api/v1/expert-grants", headers=traveler).json()["items"]
    assert [(listed["id"], listed["spent"]) for listed in grants] == [
        (grant["id"], {"amount": "88.00", "currency": "EUR"})
    ]


def test_an_expert_without_the_privilege_is_refused_even_with_a_grant(
    gateway: httpx.Client, admin: dict[str, str]
) -> None:
    provider, traveler, expert = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4)
    _save_card(gateway, traveler)
    _grant(gateway, traveler, expert)
    handoff = _accepted_handoff(gateway, traveler, expert)

    refused = _book_on_behalf(gateway, expert, handoff["id"], slot_id)
    assert (refused.status_code, refused.json()["error_code"]) == (403, "NOT_PERSONAL_ASSISTANT")
    _privilege(gateway, admin, expert, allowed=False)
    assert _book_on_behalf(gateway, expert, handoff["id"], slot_id).status_code == 403
    assert available_seats(gateway, listing_id) == 4
    assert gateway.get("/api/v1/bookings", headers=traveler).json()["items"] == []


def test_an_expert_with_the_privilege_but_no_grant_or_a_revoked_one_is_refused(
    gateway: httpx.Client, admin: dict[str, str]
) -> None:
    provider, traveler, expert = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4)
    _privilege(gateway, admin, expert, allowed=True)
    _save_card(gateway, traveler)
    handoff = _accepted_handoff(gateway, traveler, expert)

    ungranted = _book_on_behalf(gateway, expert, handoff["id"], slot_id)
    assert (ungranted.status_code, ungranted.json()["error_code"]) == (403, "NO_GRANT")
    grant = _grant(gateway, traveler, expert)
    assert gateway.delete(f"/api/v1/expert-grants/{grant['id']}", headers=expert).status_code == 403
    assert gateway.delete(f"/api/v1/expert-grants/{grant['id']}", headers=traveler).status_code == 204
    revoked = _book_on_behalf(gateway, expert, handoff["id"], slot_id)
    assert (revoked.status_code, revoked.json()["error_code"]) == (403, "GRANT_REVOKED")
    assert available_seats(gateway, listing_id) == 4

    other_expert = sign_up(gateway, "expert")
    _privilege(gateway, admin, other_expert, allowed=True)
    not_theirs = _book_on_behalf(gateway, other_expert, handoff["id"], slot_id)
    assert not_theirs.status_code == 404


def test_booking_for_a_traveler_without_a_saved_card_is_refused_and_the_seats_go_back(
    gateway: httpx.Client, admin: dict[str, str]
) -> None:
    provider, traveler, expert = sign_up(gateway, "provider"), sign_up(gateway, "traveler"), sign_up(gateway, "expert")
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=4)
    _privilege(gateway, admin, expert, allowed=True)
    _grant(gateway, traveler, expert)
    handoff = _accepted_handoff(gateway, traveler, expert)

    refused = _book_on_behalf(gateway, expert, handoff["id"], slot_id)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NO_SAVED_PAYMENT_METHOD")
    [booking] = gateway.get("/api/v1/bookings", headers=traveler).json()["items"]
    assert booking["status"] == "cancelled"
    deadline = time.monotonic() + 10
    while available_seats(gateway, listing_id) != 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert available_seats(gateway, listing_id) == 4, "the hold placed for it is released"
