"""The development mail sink: accepts SMTP and keeps every message, readable over HTTP.

`GET /messages` lists what arrived (newest last), `DELETE /messages` empties the sink.
"""

import argparse
import asyncio
import email
import email.policy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI


@dataclass
class MailStore:
    messages: list[dict[str, Any]] = field(default_factory=list)

    def keep(self, envelope: Envelope) -> None:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
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
                "attachments": attachments,
                "raw": raw.decode("utf-8", errors="replace"),
            }
        )


class _KeepingHandler:
    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802, ARG002
        self._store.keep(envelope)
        return "250 Message accepted"


def build_http_app(store: MailStore) -> FastAPI:
    app = FastAPI(title="Mail sink")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/messages")
    async def list_messages() -> dict[str, list[dict[str, Any]]]:
        return {"items": store.messages}

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> None:
        store.messages.clear()

    return app


async def serve(smtp_port: int, http_port: int) -> None:
    store = MailStore()
    controller = Controller(_KeepingHandler(store), hostname="127.0.0.1", port=smtp_port)
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
