"""The development mail sink: accepts SMTP and keeps every message, readable over HTTP.

`GET /messages` lists what arrived (newest last), `DELETE /messages` empties the sink.

A message whose Message-ID the sink already kept is accepted and dropped, as a receiving mail
system deduplicates a sender's retry: a sender that sends again after a crash mid-send (it
cannot know the first copy arrived) leaves one message here, and tests can count exactly once.
`duplicates_dropped` says how many were.

Outages, for tests and developers: `POST /outage` with JSON `{"for_seconds": N}` (0 < N <= 3600)
takes the SMTP side down for N seconds: it answers every `MAIL FROM` with 421 (service not
available), as a mail server that is shutting down or overloaded does, so no message is taken
and a sender must try again later. `GET /outage` says how many seconds are left (0: up),
`DELETE /outage` ends it at once.
"""

import argparse
import asyncio
import email
import email.policy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from pydantic import BaseModel, Field

OUTAGE_REPLY = "421 4.3.2 Service not available, try again later"
MAX_OUTAGE_SECONDS = 3600


@dataclass
class MailStore:
    messages: list[dict[str, Any]] = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)
    duplicates_dropped: int = 0
    # Monotonic seconds, injectable so the outage's end can be tested without waiting for it.
    clock: Callable[[], float] = time.monotonic
    down_until: float | None = None

    def go_down(self, for_seconds: float) -> None:
        self.down_until = self.clock() + for_seconds

    def come_up(self) -> None:
        self.down_until = None

    def down_for_seconds(self) -> float:
        """How long the SMTP side stays down; 0 when it is up."""
        if self.down_until is None:
            return 0.0
        return max(self.down_until - self.clock(), 0.0)

    def keep(self, envelope: Envelope) -> None:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = str(parsed.get("Message-ID", "")).strip()
        if message_id in self.message_ids:
            self.duplicates_dropped += 1
            return
        if message_id:
            self.message_ids.add(message_id)
        attachments = [
            {"filename": part.get_filename(), "content_type": part.get_content_type()}
            for part in parsed.walk()
            if part.get_filename() or part.get_content_type() == "text/calendar"
        ]
        self.messages.append(
            {
                "id": len(self.messages) + 1,
                "received_at": datetime.now(UTC).isoformat(),
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "subject": str(parsed.get("Subject", "")),
                "message_id": message_id or None,
                "attachments": attachments,
                "raw": raw.decode("utf-8", errors="replace"),
            }
        )


class KeepingHandler:
    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def handle_MAIL(  # noqa: N802
        self,
        server: SMTP,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self._store.down_for_seconds() > 0:
            return OUTAGE_REPLY
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802, ARG002
        self._store.keep(envelope)
        return "250 Message accepted"


class Outage(BaseModel):
    for_seconds: float = Field(gt=0, le=MAX_OUTAGE_SECONDS)


def build_http_app(store: MailStore) -> FastAPI:
    app = FastAPI(title="Mail sink")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/messages")
    async def list_messages() -> dict[str, Any]:
        return {"items": store.messages, "duplicates_dropped": store.duplicates_dropped}

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> None:
        store.messages.clear()
        store.message_ids.clear()
        store.duplicates_dropped = 0

    @app.post("/outage", status_code=201)
    async def start_outage(outage: Outage) -> dict[str, float]:
        store.go_down(outage.for_seconds)
        return {"down_for_seconds": store.down_for_seconds()}

    @app.get("/outage")
    async def show_outage() -> dict[str, float]:
        return {"down_for_seconds": store.down_for_seconds()}

    @app.delete("/outage")
    async def end_outage() -> dict[str, float]:
        store.come_up()
        return {"down_for_seconds": store.down_for_seconds()}

    return app


def smtp_controller(store: MailStore, port: int) -> Controller:
    """The sink's SMTP side on 127.0.0.1:`port`, keeping into `store` (not started)."""
    return Controller(KeepingHandler(store), hostname="127.0.0.1", port=port)


async def serve(smtp_port: int, http_port: int) -> None:
    store = MailStore()
    controller = smtp_controller(store, smtp_port)
    controller.start()
    try:
        config = uvicorn.Config(build_http_app(store), host="127.0.0.1", port=http_port, log_level="warning")
        await uvicorn.Server(config).serve()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    asyncio.run(serve(args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
