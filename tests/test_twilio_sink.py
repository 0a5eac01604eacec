"""The dev stack's Twilio-compatible SMS sink: it signs its callbacks as Twilio's SDK verifies
them, counts segments as Twilio does, refuses as Twilio refuses, and fails when told to."""

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from devstack.twilio_sink import TwilioSink, segments, twilio_signature

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "sink-test-token"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}
MESSAGE = {"To": "+351912345678", "From": "+15005550006", "Body": "Hello"}


@pytest.fixture
async def sink() -> AsyncIterator[httpx.AsyncClient]:
    app = TwilioSink(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sink") as client:
        yield client


@given(
    url=st.sampled_from(
        ["https://api.travel.example/api/v1/notifications/webhooks/twilio", "http://127.0.0.1:8000/x?a=1"]
    ),
    params=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), max_size=8),
)
def test_the_sinks_signature_is_the_one_twilios_sdk_verifies(url: str, params: dict[str, str]) -> None:
    signature = twilio_signature(AUTH_TOKEN, url, params)
    assert RequestValidator(AUTH_TOKEN).validate(url, params, signature)
    assert not RequestValidator("another-token").validate(url, params, signature)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("A" * 160, 1),
        ("A" * 161, 2),
        ("A" * 306, 2),
        ("A" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("🧳" * 35, 1),
        ("🧳" * 36, 2),
    ],
)
def test_segments_are_counted_as_twilio_counts_them(body: str, count: int) -> None:
    assert segments(body) == count


async def test_a_message_is_answered_as_twilio_answers_and_kept(sink: httpx.AsyncClient) -> None:
    created = await sink.post(MESSAGES, data=MESSAGE, headers=CREDENTIALS)

    assert created.status_code == 201
    resource = created.json()
    assert resource["sid"].startswith("SM")
    assert len(resource["sid"]) == 34
    assert (resource["status"], resource["to"], resource["body"], resource["num_segments"]) == (
        "queued",
        "+351912345678",
        "Hello",
        "1",
    )
    fetched = await sink.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{resource['sid']}.json", headers=CREDENTIALS)
    assert fetched.json() == resource
    [kept] = (await sink.get("/messages")).json()["items"]
    assert kept["sid"] == resource["sid"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (MESSAGE | {"To": "+1 555 123"}, 21211),
        (MESSAGE | {"To": "+15005550001"}, 21211),
        (MESSAGE | {"To": "+15005550004"}, 21610),
        (MESSAGE | {"To": ""}, 21604),
        (MESSAGE | {"Body": ""}, 21602),
        (MESSAGE | {"Body": "A" * 1601}, 21617),
    ],
)
async def test_a_message_twilio_would_refuse_is_refused_with_its_error_body(
    sink: httpx.AsyncClient, message: dict[str, str], code: int
) -> None:
    refused = await sink.post(MESSAGES, data=message, headers=CREDENTIALS)

    assert refused.status_code == 400
    assert refused.json() == {
        "code": code,
        "message": refused.json()["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert (await sink.get("/messages")).json()["items"] == []


async def test_wrong_credentials_are_refused(sink: httpx.AsyncClient) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{ACCOUNT_SID}:nope".encode()).decode()}
    refused = await sink.post(MESSAGES, data=MESSAGE, headers=wrong)
    assert (refused.status_code, refused.json()["code"]) == (401, 20003)
    other_account = await sink.post(MESSAGES.replace(ACCOUNT_SID, "AC" + "1" * 32), data=MESSAGE, headers=CREDENTIALS)
    assert other_account.status_code == 401


async def test_a_counted_fault_fails_that_many_messages_then_passes(sink: httpx.AsyncClient) -> None:
    assert (await sink.post("/faults", json={"status": 500, "times": 2})).status_code == 201

    answers = [(await sink.post(MESSAGES, data=MESSAGE, headers=CREDENTIALS)).status_code for _ in range(3)]

    assert answers == [500, 500, 201]
    assert (await sink.get("/faults")).json()["faults"] == []
    assert len((await sink.get("/messages")).json()["items"]) == 1


async def test_a_timed_fault_fails_every_message_until_it_ends_and_can_be_cleared(sink: httpx.AsyncClient) -> None:
    await sink.post("/faults", json={"status": 503, "for_seconds": 0.5})
    during = [(await sink.post(MESSAGES, data=MESSAGE, headers=CREDENTIALS)).status_code for _ in range(3)]
    await asyncio.sleep(0.6)
    after = await sink.post(MESSAGES, data=MESSAGE, headers=CREDENTIALS)

    assert during == [503, 503, 503]
    assert after.status_code == 201
    await sink.post("/faults", json={"status": 500, "for_seconds": 60})
    await sink.delete("/faults")
    assert (await sink.post(MESSAGES, data=MESSAGE, headers=CREDENTIALS)).status_code == 201
