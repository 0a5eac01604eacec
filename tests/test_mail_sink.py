"""The dev stack's mail sink: it keeps each Message-ID once, and goes down for a while when told
to, refusing mail with 421 until the outage ends."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from devstack.infra import free_port
from devstack.mailsink import MailStore, build_http_app, smtp_controller


@dataclass
class ManualClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sink:
    store: MailStore
    clock: ManualClock
    smtp_port: int
    control: httpx.AsyncClient

    async def send(self, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = "bookings@travel.example"
        message["To"] = "ana@example.com"
        message["Subject"] = "Booking TRV-1 confirmed"
        message["Message-ID"] = message_id
        message.set_content("See you there.")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self.smtp_port, timeout=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> MailStore:
    return MailStore(clock=clock)


@pytest.fixture
async def sink(store: MailStore, clock: ManualClock) -> AsyncIterator[Sink]:
    port = free_port()
    controller = smtp_controller(store, port)
    controller.start()
    try:
        transport = httpx.ASGITransport(app=build_http_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://sink") as control:
            yield Sink(store=store, clock=clock, smtp_port=port, control=control)
    finally:
        controller.stop()


async def test_a_repeated_message_id_is_kept_once(sink: Sink) -> None:
    await sink.send("<one@travel.example>")
    await sink.send("<one@travel.example>")

    listed = (await sink.control.get("/messages")).json()
    assert [item["message_id"] for item in listed["items"]] == ["<one@travel.example>"]
    assert listed["duplicates_dropped"] == 1


async def test_while_down_the_sink_refuses_mail_with_421_and_keeps_none(sink: Sink) -> None:
    started = await sink.control.post("/outage", json={"for_seconds": 60})
    assert started.status_code == 201
    assert started.json() == {"down_for_seconds": 60}

    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await sink.send("<refused@travel.example>")
    assert refused.value.code == 421
    assert (await sink.control.get("/messages")).json()["items"] == []

    sink.clock.now += 59
    assert (await sink.control.get("/outage")).json() == {"down_for_seconds": 1}
    with pytest.raises(aiosmtplib.SMTPSenderRefused):
        await sink.send("<refused@travel.example>")


async def test_the_sink_takes_mail_again_once_the_outage_is_over(sink: Sink) -> None:
    await sink.control.post("/outage", json={"for_seconds": 60})
    sink.clock.now += 60

    assert (await sink.control.get("/outage")).json() == {"down_for_seconds": 0}
    await sink.send("<after@travel.example>")
    assert [item["message_id"] for item in (await sink.control.get("/messages")).json()["items"]] == [
        "<after@travel.example>"
    ]


async def test_an_outage_ended_early_takes_mail_at_once(sink: Sink) -> None:
    await sink.control.post("/outage", json={"for_seconds": 60})

    assert (await sink.control.delete("/outage")).json() == {"down_for_seconds": 0}
    await sink.send("<early@travel.example>")
    assert len((await sink.control.get("/messages")).json()["items"]) == 1


@pytest.mark.parametrize("for_seconds", [0, -1, 3601])
async def test_an_outage_is_bounded(sink: Sink, for_seconds: float) -> None:
    refused = await sink.control.post("/outage", json={"for_seconds": for_seconds})

    assert refused.status_code == 422
    assert (await sink.control.get("/outage")).json() == {"down_for_seconds": 0}
