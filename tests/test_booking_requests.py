"""Request-to-book through the gateway: the provider accepts (the traveler pays the booking as
an instant one), declines (other open slots are listed), or counter-offers another slot and
price that the traveler accepts; a request left unanswered expires at 48 hours, and the
traveler hears of each answer by email."""

import asyncio
import email
import email.policy
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.booking.requests.service import handle_request_deadlines
from services.booking.settings import BookingSettings
from shared.clock import FrozenClock, SystemClock
from shared.db import create_engine, create_session_factory
from tests.flows import available_seats, listing_with_slot, mail_about, pay, sign_up, tomorrow, wait_for_status
from tests.running_platform import PlatformPorts

CONTACT = {"name": "Marta", "email": "marta@example.com"}


@pytest.fixture
def gateway(platform: PlatformPorts) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


def _request_listing(gateway: httpx.Client, provider: dict[str, str], *, capacity: int = 4) -> tuple[str, str, str]:
    """A listing booked on request, with a 10:00 slot the day after tomorrow: (id, slot, title)."""
    title = f"Private cooking class {uuid.uuid4().hex[:8]}"
    listing_id, slot_id = listing_with_slot(gateway, provider, capacity=capacity, booking_mode="request", title=title)
    return listing_id, slot_id, title


def _add_schedule(gateway: httpx.Client, provider: dict[str, str], listing_id: str, **fields: Any) -> None:
    schedule = gateway.post(
        f"/api/v1/listings/{listing_id}/schedules",
        json={"duration_minutes": 120, "recurrence": "none", "capacity": 4} | fields,
        headers=provider,
    )
    assert schedule.status_code == 201, schedule.text


def _ask(gateway: httpx.Client, traveler: dict[str, str], slot_id: str, **party: int) -> dict[str, Any]:
    asked = gateway.post(
        "/api/v1/booking-requests",
        json={"slot_id": slot_id, "message": "We are two, one vegetarian.", "contact": CONTACT}
        | (party or {"adults": 2}),
        headers=traveler,
    )
    assert asked.status_code == 201, asked.text
    answer: dict[str, Any] = asked.json()
    return answer


def _account_email(gateway: httpx.Client, signed_in: dict[str, str]) -> str:
    email_address: str = gateway.get("/api/v1/auth/me", headers=signed_in).json()["email"]
    return email_address


def _mail_text(mail: dict[str, Any]) -> str:
    body = email.message_from_string(mail["raw"], policy=email.policy.default).get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_an_accepted_request_is_paid_and_confirmed_like_an_instant_booking(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id, title = _request_listing(gateway, provider)

    once = traveler | {"Idempotency-Key": uuid.uuid4().hex}
    asked = _ask(gateway, once, slot_id)
    assert asked["status"] == "pending_provider"
    assert _ask(gateway, once, slot_id) == asked, "a retry gets the first answer"
    requested_at = datetime.fromisoformat(asked["requested_at"])
    assert datetime.fromisoformat(asked["expires_at"]) - requested_at == timedelta(hours=48)
    assert Decimal(asked["price_estimate"]["quote"]["total"]) == Decimal("88.00")
    assert available_seats(gateway, listing_id) == 4, "a request holds no seats"
    incoming = gateway.get("/api/v1/booking-requests", headers=provider).json()["items"]
    assert [item["id"] for item in incoming] == [asked["id"]]
    new_request_mail = mail_about(platform.mail_http, f"New booking request: {title}")
    assert "We are two, one vegetarian." in _mail_text(new_request_mail)

    accepted = gateway.post(f"/api/v1/booking-requests/{asked['id']}/accept", headers=provider)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert datetime.fromisoformat(accepted.json()["responded_at"]) >= requested_at
    assert available_seats(gateway, listing_id) == 2, "the seats are held for the payment window"
    again = gateway.post(f"/api/v1/booking-requests/{asked['id']}/accept", headers=provider)
    assert (again.status_code, again.json()["error_code"]) == (409, "INVALID_TRANSITION")

    booking = gateway.get(f"/api/v1/bookings/{accepted.json()['booking_id']}", headers=traveler).json()
    assert (booking["status"], booking["slot_id"], Decimal(booking["total"])) == (
        "pending_payment",
        slot_id,
        Decimal("88.00"),
    )
    assert booking["special_requests"] == "We are two, one vegetarian."
    accepted_mail = mail_about(platform.mail_http, f"Request accepted, please pay: {title}")
    assert accepted_mail["rcpt_tos"] == [_account_email(gateway, traveler)], "the account, not the typed contact"
    paid = pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    wait_for_status(gateway, booking["id"], traveler, "confirmed")
    assert available_seats(gateway, listing_id) == 2


def test_a_declined_request_lists_the_other_open_slots_of_the_listing(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id, title = _request_listing(gateway, provider)
    _add_schedule(
        gateway,
        provider,
        listing_id,
        start_time="15:00",
        recurrence="daily",
        valid_from=tomorrow().isoformat(),
        valid_until=(tomorrow() + timedelta(days=2)).isoformat(),
    )
    # Too small for the party: not offered.
    _add_schedule(gateway, provider, listing_id, start_time="18:00", capacity=1, valid_from=tomorrow().isoformat())
    asked = _ask(gateway, traveler, slot_id)

    declined = gateway.post(
        f"/api/v1/booking-requests/{asked['id']}/decline", json={"reason": "The kitchen is booked."}, headers=provider
    )
    assert declined.status_code == 200, declined.text
    assert (declined.json()["status"], declined.json()["status_reason"]) == ("declined", "The kitchen is booked.")
    offered = [(slot["date"], slot["start_time"], slot["available"]) for slot in declined.json()["alternatives"]]
    assert offered == [((tomorrow() + timedelta(days=n)).isoformat(), "15:00", 4) for n in range(3)]
    assert declined.json()["booking_id"] is None
    read = gateway.get(f"/api/v1/booking-requests/{asked['id']}", headers=traveler).json()
    assert read["alternatives"] == declined.json()["alternatives"]

    text = _mail_text(mail_about(platform.mail_http, f"Request declined: {title}"))
    assert "The kitchen is booked." in text
    assert text.count("15:00") == 3
    assert available_seats(gateway, listing_id) == 4


def test_a_counter_offer_of_another_slot_and_price_accepted_books_at_that_price(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id, title = _request_listing(gateway, provider)
    next_day = tomorrow() + timedelta(days=1)
    _add_schedule(gateway, provider, listing_id, start_time="15:00", valid_from=next_day.isoformat())
    asked = _ask(gateway, traveler, slot_id)
    path = f"/api/v1/booking-requests/{asked['id']}"

    nothing_then = gateway.post(
        f"{path}/counter-offer",
        json={"date": next_day.isoformat(), "start_time": "09:00", "message": "Earlier?"},
        headers=provider,
    )
    assert (nothing_then.status_code, nothing_then.json()["error_code"]) == (404, "NO_SUCH_SLOT")
    countered = gateway.post(
        f"{path}/counter-offer",
        json={"date": next_day.isoformat(), "start_time": "15:00", "price": "70.00", "message": "Friday afternoon?"},
        headers=provider,
    )
    assert countered.status_code == 200, countered.text
    offer = countered.json()["counter_offer"]
    assert countered.json()["status"] == "countered"
    assert (offer["price"], offer["message"]) == ({"amount": "70.00", "currency": "EUR"}, "Friday afternoon?")
    [counter_slot] = [slot for slot in _slots_on(gateway, listing_id, next_day) if slot["start_time"] == "15:00"]
    assert offer["slot_id"] == counter_slot["slot_id"]
    assert "Friday afternoon?" in _mail_text(mail_about(platform.mail_http, f"Counter-offer for your request: {title}"))
    by_provider = gateway.post(f"{path}/accept-counter", headers=provider)
    assert (by_provider.status_code, by_provider.json()["error_code"]) == (403, "FORBIDDEN")

    accepted = gateway.post(f"{path}/accept-counter", headers=traveler | {"Idempotency-Key": uuid.uuid4().hex})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    booking = gateway.get(f"/api/v1/bookings/{accepted.json()['booking_id']}", headers=traveler).json()
    assert (booking["slot_id"], Decimal(booking["total"]), Decimal(booking["amount_due_now"])) == (
        offer["slot_id"],
        Decimal("70.00"),
        Decimal("70.00"),
    )
    assert booking["quote"]["lines"][-1]["kind"] == "agreed_adjustment"
    assert available_seats(gateway, listing_id, next_day) == 2
    assert available_seats(gateway, listing_id) == 4, "the first slot asked for was never held"
    pay(f"http://127.0.0.1:{platform.stripe}", booking["payment"]["payment_intent_id"], "pm_card_visa")
    confirmed = wait_for_status(gateway, booking["id"], traveler, "confirmed")
    assert Decimal(confirmed["total"]) == Decimal("70.00")


def test_racing_answers_to_one_request_make_at_most_one_booking_and_hold_its_seats_once(
    platform: PlatformPorts, gateway: httpx.Client
) -> None:
    """The provider's accept, sent several times, against the traveler's withdrawal: whoever
    wins, the request ends accepted with one booking holding the seats, or withdrawn with the
    seats back on sale."""
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    listing_id, slot_id, _ = _request_listing(gateway, provider)
    path = f"/api/v1/booking-requests/{_ask(gateway, traveler, slot_id)['id']}"

    def answer(action: str, headers: dict[str, str]) -> int:
        with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
            return client.post(f"{path}/{action}", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(answer, ["accept", "accept", "accept", "cancel"], [provider, provider, provider, traveler])
        )
    assert set(answers) <= {200, 409}
    assert answers.count(200) == 1, answers
    final = gateway.get(path, headers=traveler).json()
    bookings = gateway.get("/api/v1/bookings", headers=traveler).json()["items"]
    if final["status"] == "accepted":
        assert [booking["id"] for booking in bookings] == [final["booking_id"]]
        assert available_seats(gateway, listing_id) == 2
    else:
        assert (final["status"], bookings) == ("cancelled", [])
        assert available_seats(gateway, listing_id) == 4


def test_a_request_left_unanswered_expires_at_48_hours(
    platform: PlatformPorts, gateway: httpx.Client, database_url: str
) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id, title = _request_listing(gateway, provider)
    asked = _ask(gateway, traveler, slot_id)

    # The booking service's job, run on a clock two days ahead against the platform's database;
    # the running service's outbox relay publishes what it writes.
    later = FrozenClock(SystemClock().now() + timedelta(hours=48, minutes=1))
    asyncio.run(_run_request_deadlines(database_url, later))

    expired = gateway.get(f"/api/v1/booking-requests/{asked['id']}", headers=traveler).json()
    assert expired["status"] == "expired"
    mail = mail_about(platform.mail_http, f"Request expired unanswered: {title}")
    assert mail["rcpt_tos"] == [_account_email(gateway, traveler)]
    too_late = gateway.post(f"/api/v1/booking-requests/{asked['id']}/accept", headers=provider)
    assert (too_late.status_code, too_late.json()["error_code"]) == (409, "INVALID_TRANSITION")


def test_a_provider_who_does_not_own_the_listing_cannot_see_or_answer_its_requests(gateway: httpx.Client) -> None:
    provider, traveler, other = (sign_up(gateway, role) for role in ("provider", "traveler", "provider"))
    _, slot_id, _ = _request_listing(gateway, provider)
    path = f"/api/v1/booking-requests/{_ask(gateway, traveler, slot_id)['id']}"
    assert gateway.get(path, headers=other).status_code == 404
    assert gateway.post(f"{path}/accept", headers=other).status_code == 404
    assert gateway.post(f"{path}/decline", json={}, headers=other).status_code == 404
    countered = gateway.post(f"{path}/counter-offer", json={"price": "10.00", "message": "Cheaper?"}, headers=other)
    assert countered.status_code == 404
    assert gateway.get("/api/v1/booking-requests", headers=other).json()["items"] == []
    assert gateway.get(path, headers=provider).json()["status"] == "pending_provider"


def test_an_instantly_bookable_listing_is_not_requested(gateway: httpx.Client) -> None:
    provider, traveler = sign_up(gateway, "provider"), sign_up(gateway, "traveler")
    _, slot_id = listing_with_slot(gateway, provider, capacity=4)
    refused = gateway.post(
        "/api/v1/booking-requests", json={"slot_id": slot_id, "adults": 2, "contact": CONTACT}, headers=traveler
    )
    assert (refused.status_code, refused.json()["error_code"]) == (409, "NOT_REQUEST_BOOKABLE")
    assert gateway.get("/api/v1/booking-requests", headers=traveler).json()["items"] == []


def _slots_on(gateway: httpx.Client, listing_id: str, day: date) -> list[dict[str, Any]]:
    slots: list[dict[str, Any]] = gateway.get(
        f"/api/v1/listings/{listing_id}/availability", params={"date": day.isoformat()}
    ).json()["slots"]
    return slots


async def _run_request_deadlines(database_url: str, clock: FrozenClock) -> None:
    engine = create_engine(database_url=database_url, schema="booking")
    try:
        await handle_request_deadlines(
            create_session_factory(engine), clock=clock, deadlines=BookingSettings().request_deadlines()
        )
    finally:
        await engine.dispose()
