"""One-click unsubscribe (RFC 8058): the email of a kind that is not transactional, to someone
with an account, carries `List-Unsubscribe` with a signed link and `List-Unsubscribe-Post`; a
POST of the link, without signing in, switches that kind's email off and nothing else; a GET
only shows a page with the button (scanners fetch links); a forged or altered token is refused
with the API's problem body and changes nothing."""

import email
import email.policy
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.notification.email.templates import request_expired
from services.notification.notifications.domain import NotificationDraft, NotificationKind, Recipient
from services.notification.notifications.service import Addressing, record_notification
from services.notification.preferences.domain import InvalidUnsubscribeToken, UnsubscribeLinks, Unsubscription
from services.notification.reminders.service import send_due_reminders
from services.notification.tests.conftest import NotificationApp, SmtpSink, booking_confirmed
from shared.contracts.booking import BookingConfirmed, BookingRequestExpired
from shared.identity import Identity
from shared.testing import make_identity

UNSUBSCRIBE = "/notifications/unsubscribe"
LINKS = UnsubscribeLinks(secret=b"a test secret", base_url="https://api.travel.example/api/v1/")


def _mails(smtp_sink: SmtpSink, subject_start: str) -> list[EmailMessage]:
    return [
        email.message_from_string(message["raw"], _class=EmailMessage, policy=email.policy.default)
        for message in smtp_sink.store.messages
        if message["subject"].startswith(subject_start)
    ]


async def _reminded(app: NotificationApp, smtp_sink: SmtpSink, traveler: Identity) -> EmailMessage:
    """A booking of `traveler`, confirmed and reminded of: the reminder as it was received."""
    confirmed = booking_confirmed(traveler_id=traveler.user_id)
    await app.consume(confirmed)
    starts_at = BookingConfirmed.model_validate(confirmed.payload).starts_at
    app.clock.advance(starts_at - timedelta(hours=24) - app.clock.now())
    assert await send_due_reminders(app.sessions, now=app.clock.now(), settings=app.settings, redis=app.redis, limit=5)
    await app.deliver()
    [reminder] = _mails(smtp_sink, "Reminder:")
    return reminder


def _token(message: EmailMessage) -> str:
    link = str(message["List-Unsubscribe"])
    assert link.startswith("<")
    assert link.endswith(">")
    [token] = parse_qs(urlsplit(link[1:-1]).query)["token"]
    return token


async def _email_enabled(app: NotificationApp, viewer: Identity) -> dict[str, bool]:
    response = await app.client.get("/notifications/preferences", headers=app.as_(viewer))
    assert response.status_code == 200, response.text
    return {entry["kind"]: entry["channels"]["email"]["enabled"] for entry in response.json()["kinds"]}


async def _channels_of(app: NotificationApp, viewer: Identity, kind: str) -> dict[str, bool]:
    response = await app.client.get("/notifications/preferences", headers=app.as_(viewer))
    [entry] = [entry for entry in response.json()["kinds"] if entry["kind"] == kind]
    return {channel: setting["enabled"] for channel, setting in entry["channels"].items()}


async def test_a_reminder_carries_a_one_click_unsubscribe_link_and_the_confirmation_none(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    reminder = await _reminded(notification_app, smtp_sink, make_identity("traveler"))

    assert str(reminder["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    link = str(reminder["List-Unsubscribe"])[1:-1]
    assert link.startswith("http://localhost:8000/api/v1/notifications/unsubscribe?token=")
    [confirmation] = _mails(smtp_sink, "Booking ")
    assert confirmation["List-Unsubscribe"] is None
    assert confirmation["List-Unsubscribe-Post"] is None


async def test_posting_the_link_without_signing_in_switches_off_that_kinds_email_and_nothing_else(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    traveler = make_identity("traveler")
    token = _token(await _reminded(notification_app, smtp_sink, traveler))
    before = await _email_enabled(notification_app, traveler)

    response = await notification_app.client.post(
        UNSUBSCRIBE, params={"token": token}, data={"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "booking_reminder", "channel": "email", "enabled": False}
    assert await _email_enabled(notification_app, traveler) == before | {"booking_reminder": False}
    assert await _channels_of(notification_app, traveler, "booking_reminder") == {
        "email": False,
        "sms": True,
        "in_app": True,
    }
    again = await notification_app.client.post(UNSUBSCRIBE, params={"token": token})
    assert again.status_code == 200, again.text
    assert await _email_enabled(notification_app, traveler) == before | {"booking_reminder": False}


async def test_the_next_reminder_after_unsubscribing_sends_no_email(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    traveler = make_identity("traveler")
    token = _token(await _reminded(notification_app, smtp_sink, traveler))
    assert (await notification_app.client.post(UNSUBSCRIBE, params={"token": token})).status_code == 200
    smtp_sink.store.messages.clear()

    confirmed = booking_confirmed(traveler_id=traveler.user_id)
    await notification_app.consume(confirmed)
    notification_app.clock.advance(timedelta(days=1))
    starts_at = BookingConfirmed.model_validate(confirmed.payload).starts_at
    notification_app.clock.advance(starts_at - timedelta(hours=24) - notification_app.clock.now())
    await send_due_reminders(
        notification_app.sessions,
        now=notification_app.clock.now(),
        settings=notification_app.settings,
        redis=notification_app.redis,
        limit=5,
    )
    await notification_app.deliver()

    assert _mails(smtp_sink, "Reminder:") == []
    assert len(_mails(smtp_sink, "Booking ")) == 1


async def test_a_browser_posting_the_page_form_gets_a_page_saying_it_is_done(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    token = _token(await _reminded(notification_app, smtp_sink, make_identity("traveler")))

    response = await notification_app.client.post(
        UNSUBSCRIBE, params={"token": token}, headers={"Accept": "text/html,application/xhtml+xml"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "You are unsubscribed" in response.text


async def test_a_get_of_the_link_shows_a_button_that_posts_and_changes_nothing(
    notification_app: NotificationApp, smtp_sink: SmtpSink
) -> None:
    traveler = make_identity("traveler")
    token = _token(await _reminded(notification_app, smtp_sink, traveler))
    before = await _email_enabled(notification_app, traveler)

    page = await notification_app.client.get(UNSUBSCRIBE, params={"token": token})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in page.text
    assert "booking reminder" in page.text
    assert await _email_enabled(notification_app, traveler) == before


def _forgeries(app: NotificationApp, traveler: Identity) -> list[str]:
    own = app.settings.unsubscribe_links()
    genuine = own.token(Unsubscription(traveler.user_id, NotificationKind.BOOKING_REMINDER, "email"))
    claims, _, signature = genuine.rpartition(".")
    return [
        UnsubscribeLinks(secret=b"someone else's secret", base_url="").token(
            Unsubscription(traveler.user_id, NotificationKind.BOOKING_REMINDER, "email")
        ),
        f"{claims.replace(str(traveler.user_id), str(uuid.uuid4()))}.{signature}",
        f"{claims.replace('booking_reminder', 'booking_request_expired')}.{signature}",
        claims,
        "",
        "not a token",
        # Signed, but what it names cannot be switched off.
        own.token(Unsubscription(traveler.user_id, NotificationKind.BOOKING_CONFIRMED, "email")),
    ]


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_forged_or_altered_token_is_refused_with_the_problem_body_and_changes_nothing(
    notification_app: NotificationApp, method: str
) -> None:
    traveler = make_identity("traveler")
    before = await _email_enabled(notification_app, traveler)

    for token in _forgeries(notification_app, traveler):
        response = await notification_app.client.request(method, UNSUBSCRIBE, params={"token": token})
        assert response.status_code == 400, (token, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = response.json()
        assert body["error_code"] == "INVALID_SIGNATURE"

    assert await _email_enabled(notification_app, traveler) == before


def test_a_token_reads_back_as_what_it_names_and_only_under_its_own_secret() -> None:
    unsubscription = Unsubscription(uuid.uuid4(), NotificationKind.BOOKING_REQUEST_DECLINED, "email")

    link = LINKS.link(unsubscription)

    assert link.startswith("https://api.travel.example/api/v1/notifications/unsubscribe?token=")
    assert LINKS.read(LINKS.token(unsubscription)) == unsubscription
    with pytest.raises(InvalidUnsubscribeToken):
        UnsubscribeLinks(secret=b"another", base_url="").read(LINKS.token(unsubscription))


def _expired_request(traveler_id: uuid.UUID | None) -> NotificationDraft:
    expired = BookingRequestExpired.model_validate(
        {
            "request_id": uuid.uuid4(),
            "listing_id": uuid.uuid4(),
            "listing_title": "Kitchen",
            "provider_id": uuid.uuid4(),
            "provider_email": "provider@example.com",
            "traveler_id": uuid.uuid4(),
            "traveler_email": "traveler@example.com",
            "slot_id": uuid.uuid4(),
            "starts_at": "2031-05-10T09:00:00Z",
            "timezone": "Europe/Lisbon",
            "seats": 2,
            "contact_name": "Marta",
            "contact_email": "traveler@example.com",
            "requested_at": "2031-05-01T09:00:00Z",
            "expired_at": "2031-05-03T09:00:00Z",
        }
    )
    message = request_expired(expired, sender="bookings@travel.example")
    return NotificationDraft(
        kind=NotificationKind.BOOKING_REQUEST_EXPIRED,
        recipient=Recipient(email="traveler@example.com", user_id=traveler_id),
        subject_type="booking_request",
        subject_id=expired.request_id,
        title="expired",
        email=message,
    )


@pytest.mark.parametrize("has_account", [True, False])
async def test_only_a_recipient_with_an_account_gets_the_unsubscribe_headers(
    notification_app: NotificationApp, has_account: bool
) -> None:
    traveler_id = uuid.uuid4() if has_account else None
    async with notification_app.sessions() as session, session.begin():
        assert await record_notification(
            session,
            source_event_id=uuid.uuid4(),
            draft=_expired_request(traveler_id),
            now=notification_app.clock.now(),
            addressing=Addressing(message_id_domain="travel.example", sms_default_region="PT", unsubscribe_links=LINKS),
            redis=notification_app.redis,
        )

    [delivery] = await notification_app.deliveries()
    sent = email.message_from_bytes(delivery.content, policy=email.policy.default)
    if traveler_id is None:
        assert sent["List-Unsubscribe"] is None
        assert sent["List-Unsubscribe-Post"] is None
    else:
        assert LINKS.read(_token(sent)) == Unsubscription(
            traveler_id, NotificationKind.BOOKING_REQUEST_EXPIRED, "email"
        )
        assert str(sent["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
