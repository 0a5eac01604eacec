"""The platform as `make up` runs it: an SMS sent through its Twilio-compatible sink comes back as
delivery statuses, signed, through the gateway's public webhook, and notification takes them."""

import asyncio

import httpx

from devstack.stack import DEV_TWILIO_ACCOUNT_SID, DEV_TWILIO_AUTH_TOKEN
from services.notification.settings import NotificationSettings
from services.notification.sms.sender import SmsSender
from tests.running_platform import PlatformPorts


async def _callbacks_of(sink: httpx.AsyncClient, sid: str) -> list[dict[str, object]]:
    for _ in range(100):
        [message] = [item for item in (await sink.get("/messages")).json()["items"] if item["sid"] == sid]
        if len(message["callbacks"]) == 2:
            break
        await asyncio.sleep(0.1)
    callbacks: list[dict[str, object]] = message["callbacks"]
    return callbacks


def test_delivery_statuses_reach_notification_through_the_gateway_signed(platform: PlatformPorts) -> None:
    sink_url = f"http://127.0.0.1:{platform.twilio_sink}"
    settings = NotificationSettings(
        twilio_api_base=sink_url,
        twilio_account_sid=DEV_TWILIO_ACCOUNT_SID,
        twilio_auth_token=DEV_TWILIO_AUTH_TOKEN,
        sms_status_callback_url=f"{platform.gateway_url}/api/v1/notifications/webhooks/twilio",
    )

    async def send_and_follow() -> list[dict[str, object]]:
        async with SmsSender(settings) as sender, httpx.AsyncClient(base_url=sink_url, timeout=10) as sink:
            sid = await sender.send("+351 912 345 678", "Olá 🧳\nYour tour starts at 09:00.")
            return await _callbacks_of(sink, sid)

    assert asyncio.run(send_and_follow()) == [
        {"status": "sent", "answer": 204},
        {"status": "delivered", "answer": 204},
    ]

    forged = httpx.post(
        f"{platform.gateway_url}/api/v1/notifications/webhooks/twilio",
        data={"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "forged"},
        timeout=10,
    )
    assert forged.status_code == 403
