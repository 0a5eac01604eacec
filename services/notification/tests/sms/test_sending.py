"""Sending through Twilio's SDK to the dev stack's Twilio-compatible sink: what arrives is the
number in E.164 and the body as written; a number that is not one is refused before sending;
a failing, slow or unreachable provider is worth another try, a refusal of the message is not;
a message sent is found again by its number, its text and when it was sent."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from twilio.rest import Client

from devstack.infra import free_port
from services.notification.settings import NotificationSettings
from services.notification.sms.sender import PermanentSmsError, RebasedAsyncHttpClient, RetryableSmsError, SmsSender


def _settings(sink_url: str, **changes: Any) -> NotificationSettings:
    return NotificationSettings(twilio_api_base=sink_url, **changes)


async def _arrived(sink: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await sink.get("/messages")).json()["items"]
    return items


@pytest.mark.parametrize(
    ("typed", "e164"),
    [("+351 912 345 678", "+351912345678"), ("912345678", "+351912345678"), ("+1 (415) 555-2671", "+14155552671")],
)
async def test_a_message_reaches_the_provider_addressed_in_e164(
    sink: httpx.AsyncClient, twilio_sink_url: str, typed: str, e164: str
) -> None:
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        sid = await sender.send(typed, "Your tour starts at 09:00.")

    [message] = await _arrived(sink)
    assert sid == message["sid"]
    assert sid.startswith("SM")
    assert message["to"] == e164
    assert message["from"] == NotificationSettings().sms_from
    assert message["body"] == "Your tour starts at 09:00."


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("Olá Ana 🧳✈️\nAlfama walking tour\ntomorrow 09:00", 1),
        ("مرحبا بالعالم — جولة المشي", 1),
        ("Line one\nLine two\n\nLine four", 1),
        ("A" * 1600, 11),
        ("Ana 🧳 " * 228, 24),
    ],
)
async def test_any_text_arrives_as_written_split_into_segments_by_the_provider(
    sink: httpx.AsyncClient, twilio_sink_url: str, body: str, segments: int
) -> None:
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        await sender.send("+351912345678", body)

    [message] = await _arrived(sink)
    assert message["body"] == body
    assert message["num_segments"] == segments


async def test_a_body_longer_than_the_provider_takes_arrives_cut_short_with_an_ellipsis(
    sink: httpx.AsyncClient, twilio_sink_url: str
) -> None:
    body = "Your itinerary: " + "Sintra, Cascais, Óbidos 🏰; " * 200
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        await sender.send("+351912345678", body)

    [message] = await _arrived(sink)
    assert 1598 <= len(message["body"].encode("utf-16-le")) // 2 <= 1600
    assert message["body"].endswith("…")
    assert body.startswith(message["body"][:-1])


@pytest.mark.parametrize("typed", ["+1 555 123 4567", "not a number", "", "+351 912", "+351 912 345 678 ext. 12"])
async def test_a_number_that_is_not_one_is_refused_before_anything_is_sent(
    sink: httpx.AsyncClient, twilio_sink_url: str, typed: str
) -> None:
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        with pytest.raises(PermanentSmsError):
            await sender.send(typed, "Hello")

    assert await _arrived(sink) == []


@pytest.mark.parametrize(("to", "code"), [("+15005550001", 21211), ("+15005550004", 21610), ("+15005550009", 21614)])
async def test_a_message_the_provider_refuses_is_a_permanent_error_with_its_code(
    sink: httpx.AsyncClient, twilio_sink_url: str, to: str, code: int
) -> None:
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        with pytest.raises(PermanentSmsError) as refused:
            await sender.send(to, "Hello")

    assert (refused.value.status, refused.value.code) == (400, code)
    assert await _arrived(sink) == []


async def test_wrong_credentials_are_a_permanent_error(sink: httpx.AsyncClient, twilio_sink_url: str) -> None:
    async with SmsSender(_settings(twilio_sink_url, twilio_auth_token="not-the-token")) as sender:
        with pytest.raises(PermanentSmsError) as refused:
            await sender.send("+351912345678", "Hello")

    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert await _arrived(sink) == []


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_failing_provider_is_a_retryable_error_and_the_next_try_goes_through(
    sink: httpx.AsyncClient, twilio_sink_url: str, status: int
) -> None:
    await sink.post("/faults", json={"status": status, "times": 1})
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        with pytest.raises(RetryableSmsError) as failed:
            await sender.send("+351912345678", "Hello")
        assert failed.value.status == status
        assert await _arrived(sink) == []

        sid = await sender.send("+351912345678", "Hello")

    assert [message["sid"] for message in await _arrived(sink)] == [sid]


async def test_a_provider_slower_than_the_timeout_is_a_retryable_error_though_the_message_may_have_gone(
    sink: httpx.AsyncClient, twilio_sink_url: str
) -> None:
    await sink.post("/faults", json={"delay_seconds": 1, "times": 1})
    async with SmsSender(_settings(twilio_sink_url, twilio_timeout_seconds=0.3)) as sender:
        with pytest.raises(RetryableSmsError):
            await sender.send("+351912345678", "Hello")

    # The provider took it all the same: a retry after a timeout can send it twice.
    for _ in range(50):
        if await _arrived(sink):
            break
        await asyncio.sleep(0.05)
    assert [message["body"] for message in await _arrived(sink)] == ["Hello"]


async def test_an_unreachable_provider_is_a_retryable_error() -> None:
    async with SmsSender(_settings(f"http://127.0.0.1:{free_port()}")) as sender:
        with pytest.raises(RetryableSmsError):
            await sender.send("+351912345678", "Hello")


async def _sent_on(sink: httpx.AsyncClient, count: int) -> None:
    """Until the sink has sent on `count` messages: Twilio lists a message by when it was sent."""
    for _ in range(100):
        if sum(message["date_sent"] is not None for message in await _arrived(sink)) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the sink did not send the messages on")


async def test_a_message_sent_is_found_by_its_number_its_text_and_when(
    sink: httpx.AsyncClient, twilio_sink_url: str
) -> None:
    # In a zone far from UTC: the time is meant as the instant, whatever the zone.
    since = datetime.now(ZoneInfo("Pacific/Kiritimati")) - timedelta(seconds=5)
    async with SmsSender(_settings(twilio_sink_url)) as sender:
        sid = await sender.send("912 345 678", "Olá 🧳\nBooking TRV-1 confirmed.")
        await sender.send("+351912345679", "Olá 🧳\nBooking TRV-1 confirmed.")
        await sender.send("+351912345678", "Booking TRV-2 confirmed.")
        await _sent_on(sink, 3)

        assert await sender.find_sent("+351912345678", "Olá 🧳\r\nBooking TRV-1 confirmed.", since=since) == sid
        assert await sender.find_sent("+351912345678", "Booking TRV-3 confirmed.", since=since) is None
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert await sender.find_sent("+351912345678", "Olá 🧳\nBooking TRV-1 confirmed.", since=later) is None


async def test_the_sinks_message_list_pages_as_the_sdk_reads_it(sink: httpx.AsyncClient, twilio_sink_url: str) -> None:
    settings = _settings(twilio_sink_url)
    async with SmsSender(settings) as sender:
        sids = [await sender.send("+351912345678", f"Message {number}") for number in range(5)]
        await sender.send("+351912345679", "Another number")
    await _sent_on(sink, 6)

    http = RebasedAsyncHttpClient(api_base=twilio_sink_url, timeout=5)
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
    try:
        listed = await client.messages.list_async(to="+351912345678", page_size=2)
        today = await client.messages.list_async(to="+351912345678", date_sent=datetime.now(UTC), page_size=2)
    finally:
        await http.close()

    assert [message.sid for message in listed] == sids[::-1]
    assert [message.sid for message in today] == sids[::-1]
