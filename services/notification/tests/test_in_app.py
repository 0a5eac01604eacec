"""In-app notifications: a booking event puts one in the traveler's feed naming the booking
(once, however often the event comes); the feed pages newest first or unread first with its
unread count; marking read is idempotent and private to the recipient; and a WebSocket
subscriber on one notification replica hears what another replica recorded."""

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from devstack.infra import free_port, wait_for_port
from services.notification.inapp.domain import SHOWN_IN_APP, summary
from services.notification.notifications.consumers import booking_events_consumer
from services.notification.notifications.domain import NotificationKind
from services.notification.tests.conftest import NotificationApp, booking_confirmed
from shared.events.envelope import EventEnvelope
from shared.identity import Identity
from shared.migrations import upgrade_to_head
from shared.testing import gateway_jwks_served, identity_headers, make_identity


async def _feed(app: NotificationApp, viewer: Identity, **params: str | int) -> dict[str, Any]:
    response = await app.client.get("/notifications", params=params, headers=app.as_(viewer))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _bookings_of(app: NotificationApp, traveler: Identity, count: int) -> list[EventEnvelope]:
    """`count` confirmed bookings of the traveler, a minute apart, each consumed in turn."""
    events = []
    for number in range(count):
        event = booking_confirmed(traveler_id=traveler.user_id, title=f"Tour {number}")
        await app.consume(event)
        app.clock.advance(timedelta(minutes=1))
        events.append(event)
    return events


def test_every_kind_is_decided_for_in_app_and_account_emails_stay_out() -> None:
    assert set(SHOWN_IN_APP) == set(NotificationKind)
    assert not SHOWN_IN_APP[NotificationKind.PASSWORD_RESET]
    assert not SHOWN_IN_APP[NotificationKind.EMAIL_VERIFICATION]
    assert SHOWN_IN_APP[NotificationKind.BOOKING_CONFIRMED]


def test_a_summary_is_one_bounded_line_in_the_listings_local_time_whatever_the_names_hold() -> None:
    facts = {
        "listing_title": "Kayak\n\r\tat  dawn 🌅 " + "ä" * 1000,
        "starts_at": "2031-05-10T09:00:00Z",
        "reference": "TRV-1",
    }
    line = summary(facts, timezone="Europe/Lisbon")
    assert line.startswith("Kayak at dawn 🌅 ää")
    assert "\n" not in line
    assert len(line) == 500
    assert summary({**facts, "listing_title": "Kayak"}, timezone="Europe/Lisbon") == (
        "Kayak · 2031-05-10 10:00 WEST · TRV-1"
    )


async def test_a_confirmed_booking_is_in_the_travelers_feed_naming_the_booking(
    notification_app: NotificationApp,
) -> None:
    traveler, stranger = make_identity("traveler"), make_identity("traveler")
    confirmed = booking_confirmed(traveler_id=traveler.user_id, title="Sunset\nkayak tour")

    await notification_app.consume(confirmed)

    page = await _feed(notification_app, traveler)
    assert (page["unread_count"], page["next_cursor"]) == (1, None)
    [item] = page["items"]
    assert item["kind"] == "booking_confirmed"
    assert item["subject"] == {"type": "booking", "id": confirmed.payload["booking_id"]}
    assert item["summary"] == f"Sunset kayak tour · 2031-05-10 10:00 WEST · {confirmed.payload['reference']}"
    assert item["title"]
    assert item["read_at"] is None
    assert item["created_at"] == notification_app.clock.now().isoformat().replace("+00:00", "Z")
    assert (await _feed(notification_app, stranger))["items"] == []


async def test_a_redelivered_or_replayed_event_makes_no_second_in_app_notification(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    confirmed = booking_confirmed(traveler_id=traveler.user_id)
    await notification_app.consume(confirmed, confirmed)
    # Past the inbox, as a replay under a renamed consumer would apply it: still one.
    spec = booking_events_consumer(notification_app.settings, notification_app.clock, notification_app.redis)
    route = spec.route(confirmed)
    assert route is not None
    handler, readable = route
    async with notification_app.sessions() as session, session.begin():
        await handler(session, readable)

    page = await _feed(notification_app, traveler)
    assert len(page["items"]) == 1
    assert page["unread_count"] == 1


async def test_the_feed_pages_newest_first_by_default(notification_app: NotificationApp) -> None:
    traveler = make_identity("traveler")
    events = await _bookings_of(notification_app, traveler, 5)
    newest_first = [event.payload["booking_id"] for event in reversed(events)]

    seen, cursor = [], None
    while True:
        page = await _feed(notification_app, traveler, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["unread_count"] == 5
        seen += [item["subject"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first


async def test_unread_first_puts_unread_ones_newest_first_then_read_ones_across_pages(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    events = await _bookings_of(notification_app, traveler, 5)
    feed = {item["subject"]["id"]: item["id"] for item in (await _feed(notification_app, traveler))["items"]}
    booking_ids = [event.payload["booking_id"] for event in events]
    for read in (booking_ids[1], booking_ids[3]):
        response = await notification_app.client.post(
            f"/notifications/{feed[read]}/read", headers=notification_app.as_(traveler)
        )
        assert response.status_code == 200

    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"order": "unread_first", "limit": 2}
        page = await _feed(notification_app, traveler, **(params | ({"cursor": cursor} if cursor else {})))
        assert page["unread_count"] == 3
        seen += [(item["subject"]["id"], item["read_at"] is not None) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [
        (booking_ids[4], False),
        (booking_ids[2], False),
        (booking_ids[0], False),
        (booking_ids[3], True),
        (booking_ids[1], True),
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(f"0|2031-05-04T09:00:00|{uuid.uuid4()}".encode()).decode(),
        base64.urlsafe_b64encode(f"2|2031-05-04T09:00:00+00:00|{uuid.uuid4()}".encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_a_cursor_the_list_did_not_make_is_refused(notification_app: NotificationApp, cursor: str) -> None:
    response = await notification_app.client.get(
        "/notifications", params={"cursor": cursor}, headers=notification_app.as_(make_identity("traveler"))
    )
    assert response.status_code == 422
    assert response.json()["error_code"] == "VALIDATION_ERROR"


async def test_marking_read_is_idempotent_and_another_users_notification_is_not_found(
    notification_app: NotificationApp,
) -> None:
    traveler, stranger = make_identity("traveler"), make_identity("traveler")
    await notification_app.consume(booking_confirmed(traveler_id=traveler.user_id))
    [item] = (await _feed(notification_app, traveler))["items"]
    read_url = f"/notifications/{item['id']}/read"

    first = await notification_app.client.post(read_url, headers=notification_app.as_(traveler))
    notification_app.clock.advance(timedelta(hours=1))
    again = await notification_app.client.post(read_url, headers=notification_app.as_(traveler))
    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] == again.json()["read_at"] is not None
    assert (await _feed(notification_app, traveler))["unread_count"] == 0

    not_theirs = await notification_app.client.post(read_url, headers=notification_app.as_(stranger))
    assert not_theirs.status_code == 404
    assert not_theirs.json()["error_code"] == "NOT_FOUND"
    signed_out = await notification_app.client.post(read_url)
    assert signed_out.status_code == 401


async def test_read_all_marks_every_unread_one_of_the_caller_only(notification_app: NotificationApp) -> None:
    traveler, other = make_identity("traveler"), make_identity("traveler")
    await _bookings_of(notification_app, traveler, 3)
    await _bookings_of(notification_app, other, 1)

    marked = await notification_app.client.post("/notifications/read-all", headers=notification_app.as_(traveler))
    assert marked.status_code == 200
    assert marked.json() == {"marked_read": 3, "unread_count": 0}
    again = await notification_app.client.post("/notifications/read-all", headers=notification_app.as_(traveler))
    assert again.json() == {"marked_read": 0, "unread_count": 0}
    assert all(item["read_at"] for item in (await _feed(notification_app, traveler))["items"])

    count = await notification_app.client.get("/notifications/unread-count", headers=notification_app.as_(other))
    assert count.json() == {"unread_count": 1}


@pytest.fixture
def another_replica(database_url: str, redis_url: str, bootstrap_servers: str) -> Iterator[str]:
    """A second notification process on the same database and Redis, trusting the test
    gateway's key; yields its address."""
    upgrade_to_head(Path("services/notification/migrations"), database_url=database_url)
    with gateway_jwks_served() as jwks_url:
        port = free_port()
        replica = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "services.notification.main:build_app", "--port", str(port)],
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
                "NOTIFICATION_CONSUMERS_ENABLED": "false",
                "NOTIFICATION_DELIVERY_WORKER_ENABLED": "false",
                "GATEWAY_JWKS_URL": jwks_url,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout=30)
            yield f"127.0.0.1:{port}"
        finally:
            replica.terminate()
            replica.wait(timeout=30)


async def test_a_subscriber_on_one_replica_hears_a_notification_recorded_by_another(
    notification_app: NotificationApp, another_replica: str
) -> None:
    traveler, stranger = make_identity("traveler"), make_identity("traveler")
    feed = f"ws://{another_replica}/ws/notifications"
    async with (
        connect(feed, additional_headers=identity_headers(traveler, audience="notification")) as travelers,
        connect(feed, additional_headers=identity_headers(stranger, audience="notification")) as strangers,
    ):
        await asyncio.sleep(0.3)  # the subscriptions are in place
        confirmed = booking_confirmed(traveler_id=traveler.user_id)
        await notification_app.consume(confirmed)

        pushed = json.loads(await asyncio.wait_for(travelers.recv(), 5))
        assert pushed["type"] == "notification.created"
        assert pushed["notification"]["subject"] == {"type": "booking", "id": confirmed.payload["booking_id"]}
        [listed] = (await _feed(notification_app, traveler))["items"]
        assert pushed["notification"] == listed
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(strangers.recv(), 0.5)


async def test_the_live_feed_refuses_a_caller_who_is_not_signed_in(another_replica: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{another_replica}/ws/notifications"):
            pass
    assert refused.value.response.status_code == 403
