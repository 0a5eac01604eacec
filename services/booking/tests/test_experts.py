"""Expert handoffs, grants and booking on a traveler's behalf, against the real database: who
sees and moves a handoff, how grants supersede and lapse, every refusal of book-on-behalf, and
a grant's limit holding when two bookings race for it."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from services.booking.bookings.models import Booking
from services.booking.experts import service
from services.booking.experts.models import ExpertBooking, ExpertHandoff
from services.booking.experts.schemas import BookOnBehalf
from services.booking.history.models import BookingChange
from services.booking.history.service import Origin
from services.booking.tests.conftest import BookingApp
from shared.contracts.inventory_api import CancellationPolicy, HoldDetails, Quote
from shared.errors import Forbidden
from shared.events.models import OutboxMessage
from shared.identity import Identity
from shared.testing import make_identity


async def _handoff(booking_app: BookingApp, traveler: Identity, expert: Identity) -> dict[str, Any]:
    created = await booking_app.client.post(
        "/expert-handoffs",
        json={
            "expert_id": str(expert.user_id),
            "description": "Four days in Lisbon with the kids",
            "start_date": "2031-06-01",
            "end_date": "2031-06-04",
            "budget": {"amount": "1200.00", "currency": "EUR"},
        },
        headers=booking_app.as_(traveler),
    )
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


async def _post(booking_app: BookingApp, path: str, who: Identity, body: dict[str, Any] | None = None) -> Any:
    return await booking_app.client.post(path, json=body, headers=booking_app.as_(who))


async def _events_of(booking_app: BookingApp, key: str) -> list[str]:
    async with booking_app.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxMessage.event_type).where(OutboxMessage.key == key).order_by(OutboxMessage.id)
                )
            ).all()
        )


async def _set_up_expert(
    booking_app: BookingApp, expert: Identity, *, personal_assistant: bool, fee: str | None = None
) -> None:
    admin = make_identity("admin")
    answer = await booking_app.client.put(
        f"/admin/experts/{expert.user_id}",
        json={"personal_assistant": personal_assistant, "fee_percentage": fee},
        headers=booking_app.as_(admin),
    )
    assert answer.status_code == 200, answer.text


async def test_a_handoff_is_accepted_planned_completed_and_approved_with_an_event_at_each_step(
    booking_app: BookingApp,
) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    await _set_up_expert(booking_app, expert, personal_assistant=False, fee="12.50")
    handoff = await _handoff(booking_app, traveler, expert)
    assert (handoff["status"], handoff["trip_id"], handoff["budget"]) == (
        "requested",
        None,
        {"amount": "1200.00", "currency": "EUR"},
    )
    path = f"/expert-handoffs/{handoff['id']}"

    accepted = await _post(booking_app, f"{path}/accept", expert)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["fee_percentage"]) == ("accepted", "12.50")
    trip_path = f"/trips/{accepted.json()['trip_id']}"
    trip = (await booking_app.client.get(trip_path, headers=booking_app.as_(traveler))).json()
    assert (trip["title"], trip["start_date"], trip["end_date"], trip["status"]) == (
        "Four days in Lisbon with the kids",
        "2031-06-01",
        "2031-06-04",
        "expert_review",
    )
    for day, title in ((1, "Tram 28 and the castle"), (2, "Sintra day trip")):
        planned = await _post(
            booking_app, f"{trip_path}/items", expert, {"day": day, "type": "activity", "title": title}
        )
        assert planned.status_code == 201, planned.text
    items = planned.json()["items"]
    assert [(item["title"], item["added_by"], item["awaiting_approval"]) for item in items] == [
        ("Tram 28 and the castle", "expert", True),
        ("Sintra day trip", "expert", True),
    ]
    completed = await _post(booking_app, f"{path}/complete", expert)
    assert completed.json()["status"] == "completed"
    late_edit = await _post(booking_app, f"{trip_path}/items", expert, {"day": 3, "type": "meal", "title": "x"})
    assert (late_edit.status_code, late_edit.json()["error_code"]) == (409, "HANDOFF_NOT_EDITABLE")
    approved = await _post(booking_app, f"{path}/approve", traveler)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_at"] == booking_app.clock.now().isoformat().replace("+00:00", "Z")
    trip = (await booking_app.client.get(trip_path, headers=booking_app.as_(traveler))).json()
    assert [item["awaiting_approval"] for item in trip["items"]] == [False, False]
    assert trip["status"] == "draft"

    assert await _events_of(booking_app, handoff["id"]) == [
        "expert_handoff.requested",
        "expert_handoff.accepted",
        "expert_handoff.completed",
        "expert_handoff.approved",
    ]
    again = await _post(booking_app, f"{path}/cancel", traveler)
    assert (again.status_code, again.json()["details"]) == (409, {"from": "approved", "to": "cancelled"})


async def test_a_requested_handoff_tells_the_expert_whose_trip_it_is_and_what_it_is(booking_app: BookingApp) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    handoff = await _handoff(booking_app, traveler, expert)

    async with booking_app.sessions() as session:
        [requested] = (
            await session.scalars(select(OutboxMessage.envelope).where(OutboxMessage.key == handoff["id"]))
        ).all()
    assert requested["type"] == "expert_handoff.requested"
    assert requested["payload"] == {
        "handoff_id": handoff["id"],
        "traveler_id": str(traveler.user_id),
        "expert_id": str(expert.user_id),
        "at": "2031-05-04T09:00:00Z",
        "traveler_email": traveler.email,
        "description": "Four days in Lisbon with the kids",
        "start_date": "2031-06-01",
        "end_date": "2031-06-04",
        "budget": "1200.00",
        "currency": "EUR",
    }


async def test_only_the_handoffs_parties_see_it_and_each_takes_only_their_own_steps(booking_app: BookingApp) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    other_expert, other_traveler = make_identity("expert"), make_identity("traveler")
    handoff = await _handoff(booking_app, traveler, expert)
    path = f"/expert-handoffs/{handoff['id']}"

    for stranger in (other_expert, other_traveler):
        assert (await booking_app.client.get(path, headers=booking_app.as_(stranger))).status_code == 404
        assert (await _post(booking_app, f"{path}/accept", stranger)).status_code == 404
        listed = await booking_app.client.get("/expert-handoffs", headers=booking_app.as_(stranger))
        assert handoff["id"] not in [item["id"] for item in listed.json()["items"]]
    by_traveler = await _post(booking_app, f"{path}/accept", traveler)
    assert (by_traveler.status_code, by_traveler.json()["error_code"]) == (403, "FORBIDDEN")
    by_expert = await _post(booking_app, f"{path}/approve", expert)
    assert by_expert.status_code == 403
    too_early = await _post(booking_app, f"{path}/complete", expert)
    assert (too_early.status_code, too_early.json()["error_code"]) == (409, "INVALID_TRANSITION")
    # Nothing to plan before the expert accepts: the handoff has no trip yet.
    assert (await booking_app.client.get(path, headers=booking_app.as_(expert))).json()["trip_id"] is None

    for party in (traveler, expert, make_identity("admin")):
        seen = await booking_app.client.get("/expert-handoffs", headers=booking_app.as_(party))
        assert handoff["id"] in [item["id"] for item in seen.json()["items"]]
    declined = await _post(booking_app, f"{path}/decline", expert, {"reason": "fully booked that week"})
    assert (declined.json()["status"], declined.json()["status_reason"]) == ("declined", "fully booked that week")
    filtered = await booking_app.client.get(
        "/expert-handoffs", params={"status": "requested"}, headers=booking_app.as_(traveler)
    )
    assert filtered.json()["items"] == []


async def test_handoff_lists_come_newest_first_a_page_at_a_time(booking_app: BookingApp) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    made = []
    for _ in range(3):
        made.append((await _handoff(booking_app, traveler, expert))["id"])
        booking_app.clock.advance(timedelta(minutes=1))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await booking_app.client.get(
            "/expert-handoffs",
            params={"limit": 2} | ({"cursor": cursor} if cursor else {}),
            headers=booking_app.as_(expert),
        )
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    bad = await booking_app.client.get("/expert-handoffs", params={"cursor": "x"}, headers=booking_app.as_(expert))
    assert bad.status_code == 422


async def test_a_new_grant_supersedes_the_one_in_force_and_only_the_traveler_revokes_one(
    booking_app: BookingApp,
) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    first = await _post(booking_app, "/expert-grants", traveler, {"expert_id": str(expert.user_id)})
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["spending_limit"]) == ("active", None)
    booking_app.clock.advance(timedelta(minutes=1))
    second = await _post(
        booking_app,
        "/expert-grants",
        traveler,
        {
            "expert_id": str(expert.user_id),
            "spending_limit": {"amount": "500.00", "currency": "EUR"},
            "expires_at": (booking_app.clock.now() + timedelta(days=7)).isoformat(),
        },
    )
    assert second.json()["spent"] == {"amount": "0.00", "currency": "EUR"}

    listed = await booking_app.client.get("/expert-grants", headers=booking_app.as_(expert))
    assert [(grant["id"], grant["status"]) for grant in listed.json()["items"]] == [
        (second.json()["id"], "active"),
        (first.json()["id"], "revoked"),
    ]
    grant_path = f"/expert-grants/{second.json()['id']}"
    by_expert = await booking_app.client.delete(grant_path, headers=booking_app.as_(expert))
    assert by_expert.status_code == 403
    by_stranger = await booking_app.client.delete(grant_path, headers=booking_app.as_(make_identity("traveler")))
    assert by_stranger.status_code == 404
    past = await _post(
        booking_app,
        "/expert-grants",
        traveler,
        {"expert_id": str(expert.user_id), "expires_at": booking_app.clock.now().isoformat()},
    )
    assert past.status_code == 422

    booking_app.clock.advance(timedelta(days=7))
    lapsed = await booking_app.client.get("/expert-grants", headers=booking_app.as_(traveler))
    assert lapsed.json()["items"][0]["status"] == "expired"
    assert (await booking_app.client.delete(grant_path, headers=booking_app.as_(traveler))).status_code == 204
    assert (await booking_app.client.delete(grant_path, headers=booking_app.as_(traveler))).status_code == 204
    revoked = await booking_app.client.get("/expert-grants", headers=booking_app.as_(traveler))
    assert [grant["status"] for grant in revoked.json()["items"]] == ["revoked", "revoked"]


async def test_book_on_behalf_is_refused_before_any_seat_is_held_without_privilege_and_live_grant(
    booking_app: BookingApp,
) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    handoff = await _handoff(booking_app, traveler, expert)
    path = f"/expert-handoffs/{handoff['id']}"
    body = {"slot_id": str(uuid.uuid4()), "adults": 2}

    async def refusal(who: Identity = expert) -> tuple[int, str]:
        answer = await _post(booking_app, f"{path}/book-on-behalf", who, body)
        return answer.status_code, answer.json()["error_code"]

    assert await refusal(make_identity("expert")) == (404, "NOT_FOUND")
    assert await refusal(traveler) == (403, "FORBIDDEN")
    await _post(booking_app, "/expert-grants", traveler, {"expert_id": str(expert.user_id)})
    assert await refusal() == (403, "NOT_PERSONAL_ASSISTANT"), "a grant is not enough"
    await _set_up_expert(booking_app, expert, personal_assistant=True)
    assert await refusal() == (409, "HANDOFF_NOT_BOOKABLE"), "allowed, but not before accepting the trip"
    await _post(booking_app, f"{path}/accept", expert)

    grants = await booking_app.client.get("/expert-grants", headers=booking_app.as_(traveler))
    await booking_app.client.delete(
        f"/expert-grants/{grants.json()['items'][0]['id']}", headers=booking_app.as_(traveler)
    )
    assert await refusal() == (403, "GRANT_REVOKED")
    expiring = {
        "expert_id": str(expert.user_id),
        "expires_at": (booking_app.clock.now() + timedelta(hours=1)).isoformat(),
    }
    await _post(booking_app, "/expert-grants", traveler, expiring)
    booking_app.clock.advance(timedelta(hours=1))
    assert await refusal() == (403, "GRANT_EXPIRED")

    other_travelers_handoff = await _handoff(booking_app, make_identity("traveler"), expert)
    await _post(booking_app, f"/expert-handoffs/{other_travelers_handoff['id']}/accept", expert)
    not_granted = await _post(
        booking_app, f"/expert-handoffs/{other_travelers_handoff['id']}/book-on-behalf", expert, body
    )
    assert (not_granted.status_code, not_granted.json()["error_code"]) == (403, "NO_GRANT")
    await _set_up_expert(booking_app, expert, personal_assistant=False)
    assert await refusal() == (403, "NOT_PERSONAL_ASSISTANT"), "an admin takes the privilege back"
    async with booking_app.sessions() as session:
        made = await session.scalar(select(Booking).where(Booking.traveler_id == traveler.user_id))
    assert made is None


def _hold(*, total: str, provider_id: uuid.UUID, starts_in: timedelta, booking_app: BookingApp) -> HoldDetails:
    """A hold as inventory describes it (GET /holds/{id})."""
    starts_at = booking_app.clock.now() + starts_in
    return HoldDetails(
        id=uuid.uuid4(),
        status="active",
        provider_id=provider_id,
        listing_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        adults=2,
        children=0,
        infants=0,
        seats=2,
        quote=Quote(subtotal=Decimal(total), taxes=Decimal("0.00"), total=Decimal(total), currency="EUR", lines=[]),
        listing_title="Sunset kayak tour",
        category="tour",
        timezone="Europe/Lisbon",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        expires_at=booking_app.clock.now() + timedelta(minutes=15),
        cancellation_policy=CancellationPolicy(),
    )


async def test_two_bookings_racing_under_one_grant_never_exceed_its_limit_and_each_is_logged(
    booking_app: BookingApp,
) -> None:
    traveler, expert, provider = make_identity("traveler"), make_identity("expert"), make_identity("provider")
    await _set_up_expert(booking_app, expert, personal_assistant=True)
    handoff = await _handoff(booking_app, traveler, expert)
    await _post(booking_app, f"/expert-handoffs/{handoff['id']}/accept", expert)
    await _post(
        booking_app,
        "/expert-grants",
        traveler,
        {"expert_id": str(expert.user_id), "spending_limit": {"amount": "100.00", "currency": "EUR"}},
    )
    origin = Origin(ip="203.0.113.7", user_agent="expert-console/2.1")
    request = BookOnBehalf(slot_id=uuid.uuid4(), adults=2)

    async def book(total: str) -> Booking:
        async with booking_app.sessions() as session:
            current = await session.get_one(ExpertHandoff, uuid.UUID(handoff["id"]))
            return await service.record_booking_on_behalf(
                session,
                handoff=current,
                expert=expert,
                origin=origin,
                request=request,
                hold=_hold(
                    total=total, provider_id=provider.user_id, starts_in=timedelta(days=3), booking_app=booking_app
                ),
                now=booking_app.clock.now(),
            )

    outcomes = await asyncio.gather(book("60.00"), book("60.00"), return_exceptions=True)
    [booking] = [outcome for outcome in outcomes if isinstance(outcome, Booking)]
    [refused] = [outcome for outcome in outcomes if not isinstance(outcome, Booking)]
    assert isinstance(refused, Forbidden)
    assert refused.error_code == "GRANT_LIMIT_EXCEEDED"
    assert (booking.traveler_id, booking.booked_by_expert_id, booking.status) == (
        traveler.user_id,
        expert.user_id,
        "pending_payment",
    )
    assert booking.contact == {"name": traveler.email, "email": traveler.email, "phone": None}

    async with booking_app.sessions() as session:
        record = await session.get_one(ExpertBooking, booking.id)
        [created] = (await session.scalars(select(BookingChange).where(BookingChange.booking_id == booking.id))).all()
        bookings = (await session.scalars(select(Booking).where(Booking.traveler_id == traveler.user_id))).all()
    assert (record.expert_fee, record.fee_percentage, record.handoff_id) == (
        Decimal("6.00"),
        Decimal("10.00"),
        uuid.UUID(handoff["id"]),
    )
    assert len(bookings) == 1, "the refused one left nothing behind"
    assert (created.action, created.actor_role, created.actor_id, created.on_behalf_of) == (
        "created",
        "expert",
        expert.user_id,
        traveler.user_id,
    )
    assert (created.ip, created.user_agent) == ("203.0.113.7", "expert-console/2.1")
    assert await _events_of(booking_app, handoff["id"]) == [
        "expert_handoff.requested",
        "expert_handoff.accepted",
        "expert_handoff.booked_on_behalf",
    ]

    history = await booking_app.client.get(f"/bookings/{booking.id}/history", headers=booking_app.as_(traveler))
    [change] = history.json()["items"]
    assert (change["actor"], change["on_behalf_of"]) == (
        {"id": str(expert.user_id), "role": "expert"},
        str(traveler.user_id),
    )
    seen = await booking_app.client.get(f"/expert-handoffs/{handoff['id']}", headers=booking_app.as_(expert))
    assert [(made["reference"], made["expert_fee"]) for made in seen.json()["bookings"]] == [
        (booking.reference, "6.00")
    ]
    grants = await booking_app.client.get("/expert-grants", headers=booking_app.as_(traveler))
    assert grants.json()["items"][0]["spent"] == {"amount": "60.00", "currency": "EUR"}

    # A booking that falls through no longer counts against the limit.
    async with booking_app.sessions() as session, session.begin():
        await session.execute(update(Booking).where(Booking.id == booking.id).values(status="payment_failed"))
    assert (await book("100.00")).booked_by_expert_id == expert.user_id
    with pytest.raises(Forbidden):
        await book("0.01")


async def test_a_grant_or_budget_in_a_currency_the_platform_does_not_sell_in_is_refused(
    booking_app: BookingApp,
) -> None:
    traveler, expert = make_identity("traveler"), make_identity("expert")
    for limit in ({"amount": "500.00", "currency": "XXX"}, {"amount": "500.5", "currency": "JPY"}):
        refused = await _post(
            booking_app, "/expert-grants", traveler, {"expert_id": str(expert.user_id), "spending_limit": limit}
        )
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), limit
    listed = await booking_app.client.get("/expert-grants", headers=booking_app.as_(traveler))
    assert listed.json()["items"] == []
