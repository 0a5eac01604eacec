"""Notification preferences through the service's API and the notifications they shape: every
kind's channels default to on; a replacement reads back as written and touches nobody else's;
a transactional email cannot be switched off (nothing changes); an SMS or in-app switched off
gets no delivery while the confirmation email still goes; an SMS in quiet hours waits for
their end."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notification.notifications.domain import NotificationKind
from services.notification.notifications.service import claim_due_deliveries
from services.notification.tests.conftest import NotificationApp, booking_confirmed
from shared.contracts.booking import BookingConfirmed
from shared.events.envelope import EventEnvelope
from shared.identity import Identity
from shared.testing import make_identity

PREFERENCES = "/notifications/preferences"


async def _read(app: NotificationApp, viewer: Identity) -> dict[str, Any]:
    response = await app.client.get(PREFERENCES, headers=app.as_(viewer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _replace(app: NotificationApp, viewer: Identity, body: dict[str, Any]) -> dict[str, Any]:
    response = await app.client.put(PREFERENCES, json=body, headers=app.as_(viewer))
    assert response.status_code == 200, response.text
    replaced: dict[str, Any] = response.json()
    return replaced


def _channels(preferences: dict[str, Any], kind: str) -> dict[str, bool]:
    [entry] = [entry for entry in preferences["kinds"] if entry["kind"] == kind]
    return {channel: setting["enabled"] for channel, setting in entry["channels"].items()}


def _confirmed_with_phone(traveler: Identity) -> EventEnvelope:
    payload = {**booking_confirmed(traveler_id=traveler.user_id).payload, "contact_phone": "+351 912 345 678"}
    booking = BookingConfirmed.model_validate(payload)
    return EventEnvelope.wrap(booking, producer="booking", key=str(booking.booking_id))


async def test_every_kind_has_every_channel_on_by_default_and_transactional_email_is_not_changeable(
    notification_app: NotificationApp,
) -> None:
    preferences = await _read(notification_app, make_identity("traveler"))

    assert [entry["kind"] for entry in preferences["kinds"]] == [kind.value for kind in NotificationKind]
    assert preferences["quiet_hours"] is None
    for entry in preferences["kinds"]:
        assert {channel: setting["enabled"] for channel, setting in entry["channels"].items()} == {
            "email": True,
            "sms": True,
            "in_app": True,
        }
    by_kind = {entry["kind"]: entry for entry in preferences["kinds"]}
    assert by_kind["booking_confirmed"]["transactional"] is True
    assert by_kind["booking_confirmed"]["channels"]["email"]["changeable"] is False
    assert by_kind["booking_confirmed"]["channels"]["sms"]["changeable"] is True
    assert by_kind["booking_request_countered"]["transactional"] is False
    assert by_kind["booking_request_countered"]["channels"]["email"]["changeable"] is True


async def test_a_replacement_reads_back_as_written_and_leaves_another_users_preferences_alone(
    notification_app: NotificationApp,
) -> None:
    traveler, other = make_identity("traveler"), make_identity("traveler")
    body = {
        "kinds": [
            {"kind": "booking_confirmed", "channels": {"sms": False}},
            {"kind": "booking_request_countered", "channels": {"email": False, "in_app": False}},
        ],
        "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Lisbon"},
    }
    replaced = await _replace(notification_app, traveler, body)

    preferences = await _read(notification_app, traveler)
    assert preferences == replaced
    assert _channels(preferences, "booking_confirmed") == {"email": True, "sms": False, "in_app": True}
    assert _channels(preferences, "booking_request_countered") == {"email": False, "sms": True, "in_app": False}
    assert preferences["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00", "timezone": "Europe/Lisbon"}
    untouched = await _read(notification_app, other)
    assert _channels(untouched, "booking_confirmed") == {"email": True, "sms": True, "in_app": True}
    assert untouched["quiet_hours"] is None

    # Replaced, not merged: what the next PUT leaves out is back at its default.
    await _replace(notification_app, traveler, {"kinds": []})
    preferences = await _read(notification_app, traveler)
    assert _channels(preferences, "booking_request_countered") == {"email": True, "sms": True, "in_app": True}
    assert preferences["quiet_hours"] is None


async def test_switching_off_a_transactional_email_is_refused_and_changes_nothing(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    kept = {"kinds": [{"kind": "booking_cancelled", "channels": {"sms": False}}]}
    await _replace(notification_app, traveler, kept)
    before = await _read(notification_app, traveler)

    refused = {
        "kinds": [
            {"kind": "booking_confirmed", "channels": {"email": False}},
            {"kind": "booking_request_countered", "channels": {"email": False}},
        ]
    }
    response = await notification_app.client.put(PREFERENCES, json=refused, headers=notification_app.as_(traveler))

    assert response.status_code == 422
    assert response.json()["error_code"] == "TRANSACTIONAL_EMAIL_REQUIRED"
    assert response.json()["details"]["kinds"] == ["booking_confirmed"]
    assert await _read(notification_app, traveler) == before


async def test_an_unknown_kind_or_channel_or_zone_or_an_empty_quiet_window_is_refused(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    for body in (
        {"kinds": [{"kind": "newsletter", "channels": {"email": False}}]},
        {"kinds": [{"kind": "booking_confirmed", "channels": {"pigeon": False}}]},
        {"kinds": [{"kind": "booking_confirmed", "channels": {}}, {"kind": "booking_confirmed", "channels": {}}]},
        {"kinds": [], "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}},
        {"kinds": [], "quiet_hours": {"start": "22:00", "end": "22:00", "timezone": "Europe/Lisbon"}},
    ):
        response = await notification_app.client.put(PREFERENCES, json=body, headers=notification_app.as_(traveler))
        assert response.status_code == 422, body
        assert response.json()["error_code"] == "VALIDATION_ERROR", body
    assert (await _read(notification_app, traveler))["kinds"] == (await _read(notification_app, make_identity()))[
        "kinds"
    ]


async def test_anyone_not_signed_in_is_refused(notification_app: NotificationApp) -> None:
    assert (await notification_app.client.get(PREFERENCES)).status_code == 401
    assert (await notification_app.client.put(PREFERENCES, json={"kinds": []})).status_code == 401


async def test_sms_and_in_app_switched_off_get_nothing_while_the_confirmation_email_still_goes(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    body = {"kinds": [{"kind": "booking_confirmed", "channels": {"sms": False, "in_app": False}}]}
    await _replace(notification_app, traveler, body)

    await notification_app.consume(_confirmed_with_phone(traveler))

    assert [delivery.channel for delivery in await notification_app.deliveries()] == ["email"]
    feed = await notification_app.client.get("/notifications", headers=notification_app.as_(traveler))
    assert feed.json()["items"] == []


async def test_with_no_preferences_a_confirmation_goes_by_email_sms_and_in_app(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")

    await notification_app.consume(_confirmed_with_phone(traveler))

    assert sorted(delivery.channel for delivery in await notification_app.deliveries()) == ["email", "sms"]
    feed = await notification_app.client.get("/notifications", headers=notification_app.as_(traveler))
    assert len(feed.json()["items"]) == 1


async def test_an_sms_in_quiet_hours_is_held_until_they_end_while_the_email_goes_now(
    notification_app: NotificationApp,
) -> None:
    traveler = make_identity("traveler")
    body = {"kinds": [], "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Lisbon"}}
    await _replace(notification_app, traveler, body)
    clock = notification_app.clock
    # 23:30 UTC on 4 May 2031 is 00:30 in Lisbon (summer time): in the window, past midnight.
    clock.advance(datetime(2031, 5, 4, 23, 30, tzinfo=UTC) - clock.now())
    window_ends = datetime(2031, 5, 5, 6, 0, tzinfo=UTC)  # 07:00 in Lisbon

    await notification_app.consume(_confirmed_with_phone(traveler))

    by_channel = {delivery.channel: delivery for delivery in await notification_app.deliveries()}
    assert by_channel["email"].next_attempt_at == clock.now()
    assert by_channel["sms"].next_attempt_at == window_ends
    # Longer than the wait: the email claimed first stays with its worker meanwhile.
    lease = timedelta(days=1)
    now_due = await claim_due_deliveries(notification_app.sessions, now=clock.now(), lease=lease, limit=10)
    assert [claim.message.channel for claim in now_due] == ["email"]
    just_before = await claim_due_deliveries(
        notification_app.sessions, now=window_ends - timedelta(seconds=1), lease=lease, limit=10
    )
    assert just_before == []
    at_the_end = await claim_due_deliveries(notification_app.sessions, now=window_ends, lease=lease, limit=10)
    assert [claim.message.channel for claim in at_the_end] == ["sms"]
