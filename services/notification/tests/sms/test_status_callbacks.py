"""Twilio's status callbacks: the sink's, signed as Twilio signs, are taken and the message's
status recorded; a wrong or missing signature is refused with 403 and changes nothing; a late
callback never moves a message back; the signature is checked against the public URL Twilio
called, not the one seen behind the gateway."""

import asyncio
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from services.notification.sms.models import SmsStatus
from services.notification.sms.sender import SmsSender
from services.notification.tests.conftest import SmtpSink, running_notification
from services.notification.tests.sms.conftest import STATUS_PATH, Notification


def _callback(message_sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC000000000000000000000000000local",
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": message_sid,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "To": "+351912345678",
        **extra,
    }


def _signed(notification: Notification, url: str, params: dict[str, str]) -> dict[str, str]:
    """The signature Twilio's SDK computes, independent of the sink's own signing."""
    validator = RequestValidator(notification.settings.twilio_auth_token)
    return {"X-Twilio-Signature": validator.compute_signature(url, params)}


async def _status_of(notification: Notification, message_sid: str) -> tuple[str, int | None] | None:
    async with notification.sessions() as session:
        recorded = await session.get(SmsStatus, message_sid)
        return (recorded.status, recorded.error_code) if recorded else None


async def _report(notification: Notification, params: dict[str, str]) -> httpx.Response:
    return await notification.client.post(
        STATUS_PATH, data=params, headers=_signed(notification, notification.status_url, params)
    )


async def test_the_providers_signed_callbacks_are_taken_and_the_message_ends_delivered(
    sink: httpx.AsyncClient, notification: Notification
) -> None:
    async with SmsSender(notification.sending()) as sender:
        sid = await sender.send("+351912345678", "Your tour starts at 09:00.")

    callbacks: list[dict[str, Any]] = []
    for _ in range(100):
        [message] = (await sink.get("/messages")).json()["items"]
        callbacks = message["callbacks"]
        if len(callbacks) == 2:
            break
        await asyncio.sleep(0.05)
    assert callbacks == [{"status": "sent", "answer": 204}, {"status": "delivered", "answer": 204}]
    assert message["status_callback"] == notification.status_url
    assert await _status_of(notification, sid) == ("delivered", None)


async def test_a_callback_with_a_wrong_or_no_signature_is_refused_and_changes_nothing(
    notification: Notification,
) -> None:
    sid = "SM" + "1" * 32
    assert (await _report(notification, _callback(sid, "sent"))).status_code == 204

    delivered = _callback(sid, "delivered")
    signed_otherwise = RequestValidator("another-token").compute_signature(notification.status_url, delivered)
    tampered = _signed(notification, notification.status_url, _callback(sid, "delivered", To="+351900000000"))
    for headers in ({"X-Twilio-Signature": signed_otherwise}, tampered, {}):
        refused = await notification.client.post(STATUS_PATH, data=delivered, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["error_code"] == "FORBIDDEN"

    assert await _status_of(notification, sid) == ("sent", None)


async def test_a_late_callback_never_moves_a_message_back(notification: Notification) -> None:
    sid = "SM" + "2" * 32
    assert (await _report(notification, _callback(sid, "undelivered", ErrorCode="30003"))).status_code == 204
    assert (await _report(notification, _callback(sid, "sent"))).status_code == 204

    assert await _status_of(notification, sid) == ("undelivered", 30003)


async def test_a_callback_naming_no_message_is_refused(notification: Notification) -> None:
    params = {"MessageStatus": "delivered"}
    assert (await _report(notification, params)).status_code == 422


async def test_the_signature_is_checked_against_the_public_url_twilio_called(
    notification: Notification, database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink
) -> None:
    public_url = "https://api.travel.example/api/v1/notifications/webhooks/twilio"
    sid = "SM" + "3" * 32
    params = _callback(sid, "delivered")
    async with running_notification(
        database_url,
        redis_url,
        bootstrap_servers,
        smtp_sink.port,
        settings_changes={"sms_status_callback_url": public_url},
    ) as behind_gateway:
        seen_here = await behind_gateway.client.post(
            STATUS_PATH, data=params, headers=_signed(notification, f"http://notification{STATUS_PATH}", params)
        )
        assert seen_here.status_code == 403
        public = await behind_gateway.client.post(
            STATUS_PATH, data=params, headers=_signed(notification, public_url, params)
        )
        assert public.status_code == 204

    assert await _status_of(notification, sid) == ("delivered", None)
