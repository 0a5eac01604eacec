"""The SMS channel against the dev stack's Twilio-compatible sink, run as `make up` runs it, and
a notification app served on a real port so the sink's status callbacks reach it."""

import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.infra import free_port, twilio_sink_command, wait_for_port
from services.notification.settings import NotificationSettings
from services.notification.tests.conftest import SmtpSink, running_notification
from shared.tests.servers import served

STATUS_PATH = "/notifications/webhooks/twilio"


@pytest.fixture(scope="session")
def twilio_sink_url() -> Iterator[str]:
    """The sink of the session, answering for the account notification's settings name."""
    defaults = NotificationSettings()
    port = free_port()
    command = twilio_sink_command(port, account_sid=defaults.twilio_account_sid, auth_token=defaults.twilio_auth_token)
    process = subprocess.Popen(command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def sink(twilio_sink_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sink's control endpoints, emptied of messages and faults for each test."""
    async with httpx.AsyncClient(base_url=twilio_sink_url, timeout=10) as client:
        await client.delete("/messages")
        await client.delete("/faults")
        yield client


@dataclass
class Notification:
    """A notification app served on a port of its own, and settings to send SMS with."""

    url: str
    client: httpx.AsyncClient
    settings: NotificationSettings
    sessions: async_sessionmaker[AsyncSession]

    @property
    def status_url(self) -> str:
        return f"{self.url}{STATUS_PATH}"

    def sending(self, **changes: object) -> NotificationSettings:
        """The settings a sender uses: statuses asked for at this app, and `changes`."""
        return self.settings.model_copy(update={"sms_status_callback_url": self.status_url, **changes})


@pytest.fixture
async def notification(
    database_url: str, redis_url: str, bootstrap_servers: str, smtp_sink: SmtpSink, twilio_sink_url: str
) -> AsyncIterator[Notification]:
    async with (
        running_notification(
            database_url,
            redis_url,
            bootstrap_servers,
            smtp_sink.port,
            settings_changes={"twilio_api_base": twilio_sink_url},
        ) as running,
        served(running.app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield Notification(url=server.url, client=client, settings=running.settings, sessions=running.sessions)
