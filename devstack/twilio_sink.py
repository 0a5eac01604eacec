"""The development SMS sink: answers what the official twilio SDK calls to send a message, as
Twilio's REST API answers it, and keeps every message, readable over HTTP.

Development and tests only; production talks to Twilio itself (notification's
`NOTIFICATION_TWILIO_API_BASE` points here in the dev stack).

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form `To`, `From`, `Body`,
  `StatusCallback`; Basic auth with the account SID and auth token, else 401 code 20003): 201 with
  the message resource (`sid` `SM...`, `status` `queued`, `num_segments` as Twilio counts them).
  Refused with 400 and Twilio's error body (`{code, message, more_info, status}`) as Twilio
  refuses: a `To` that is not a valid number (21211), no `To` (21604), no `From` (21603), no
  `Body` (21602), a body over 1600 characters (21617), and Twilio's magic test numbers as `To`
  (+15005550001 21211, +15005550002 21612, +15005550003 21408, +15005550004 21610,
  +15005550009 21614).
- `GET /2010-04-01/Accounts/{AccountSid}/Messages/{sid}.json`: the message as it is now.
- `GET /2010-04-01/Accounts/{AccountSid}/Messages.json`: the messages, newest first, in
  Twilio's paged shape (`messages`, `page`, `page_size`, `next_page_uri`, ...; `PageSize`,
  `Page` and `PageToken` as Twilio pages), filtered by `To`, `From` and `DateSent` (`DateSent`
  the day, `DateSent>` on or after, `DateSent<` on or before; a date or a date and time in UTC).
  As at Twilio, a message not yet sent on (no `date_sent`) matches no `DateSent` filter.
- A message goes `sent` (its `date_sent` set) then `delivered` shortly after; with a
  `StatusCallback`, each change is POSTed there as Twilio posts it (form fields,
  `X-Twilio-Signature` signed with the auth token).

Control endpoints (not Twilio's), for tests and developers:

- `GET /messages` lists what arrived (oldest first), with the callbacks each got and their
  answers; `DELETE /messages` empties the sink.
- `POST /faults` with JSON `{status?, times?, for_seconds?, delay_seconds?}`: the next `times`
  message creations (or every one for `for_seconds`; one if neither is given) wait
  `delay_seconds` (default 0), then fail with `status` (none: answered as usual after the wait).
  `GET /faults` lists what is left, `DELETE /faults` clears them.

Run it with `python -m devstack.twilio_sink --port PORT --account-sid AC... --auth-token TOKEN`.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import phonenumbers
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_VERSION = "2010-04-01"
MAX_BODY_CHARACTERS = 1600
# Twilio's magic `To` numbers for test credentials, and what Twilio answers them.
MAGIC_TO_ERRORS = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "The 'To' number +15005550009 is not a valid mobile number."),
}
# GSM 03.38: the basic set (one septet each) and its extension (an escape and a septet).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


def segments(body: str) -> int:
    """How many SMS segments Twilio sends `body` in: GSM-7 when every character has a septet
    (160 alone, 153 a part when split), else UCS-2 (70 alone, 67 a part, in UTF-16 units)."""
    if all(character in GSM_BASIC or character in GSM_EXTENSION for character in body):
        units = sum(2 if character in GSM_EXTENSION else 1 for character in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """`X-Twilio-Signature`: base64 of HMAC-SHA1 over the URL and each parameter's name and
    value, sorted by name, keyed with the auth token."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Fault:
    status: int | None
    times: int | None
    until: float | None
    delay_seconds: float

    def active(self, now: float) -> bool:
        if self.until is not None:
            return now < self.until
        return self.times is not None and self.times > 0


@dataclass
class TwilioSink:
    """The sink's state: the account it answers for, the messages it kept, the faults to inject."""

    account_sid: str
    auth_token: str
    callback_delay_seconds: float = 0.2
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Callback deliveries in flight, held so none is collected before it ends.
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> Starlette:
        account_path = f"/{API_VERSION}/Accounts/{{account_sid}}"
        routes = [
            Route(f"{account_path}/Messages.json", self._create_message, methods=["POST"]),
            Route(f"{account_path}/Messages.json", self._list_messages, methods=["GET"]),
            Route(f"{account_path}/Messages/{{sid}}.json", self._fetch_message, methods=["GET"]),
            Route("/messages", self._messages, methods=["GET", "DELETE"]),
            Route("/faults", self._faults, methods=["GET", "POST", "DELETE"]),
            Route("/healthz", _healthz, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    # Twilio's API

    async def _create_message(self, request: Request) -> Response:
        refused = self._refuse_credentials(request)
        if refused is not None:
            return refused
        # Read before any delay: a message answered too late is still sent, as at Twilio.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        fault = self._take_fault()
        if fault is not None:
            await asyncio.sleep(fault.delay_seconds)
            if fault.status is not None:
                return _twilio_error(fault.status, 20000 + fault.status, "Injected by the Twilio sink.")
        invalid = _invalid_message(form)
        if invalid is not None:
            return _twilio_error(400, *invalid)
        message = self._keep(form)
        delivery = asyncio.create_task(self._report_delivery(message, form.get("StatusCallback")))
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)
        return JSONResponse(_resource(message), status_code=201)

    async def _list_messages(self, request: Request) -> Response:
        refused = self._refuse_credentials(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            page_size = min(int(query.get("PageSize", "50")), 1000)
            page = int(query.get("Page", "0"))
            start = int(query.get("PageToken", "PA0").removeprefix("PA"))
            date_filters = [
                (operator, _moment(query[name]))
                for name, operator in (("DateSent", "="), ("DateSent>", ">"), ("DateSent<", "<"))
                if name in query
            ]
        except ValueError as error:
            return _twilio_error(400, 20001, f"Invalid parameter: {error}")
        matching = [
            message
            for message in reversed(self.messages)
            if query.get("To", message["to"]) == message["to"]
            and query.get("From", message["from"]) == message["from"]
            and all(_sent_matches(message["date_sent"], operator, moment) for operator, moment in date_filters)
        ]
        shown = matching[start : start + page_size]
        uri = request.url.path

        def page_uri(at_page: int, at_start: int) -> str:
            params = {name: value for name, value in query.items() if name not in ("Page", "PageToken", "PageSize")}
            params |= {"PageSize": str(page_size), "Page": str(at_page), "PageToken": f"PA{at_start}"}
            return f"{uri}?{urlencode(params)}"

        more = start + page_size < len(matching)
        return JSONResponse(
            {
                "messages": [_resource(message) for message in shown],
                "page": page,
                "page_size": page_size,
                "start": start,
                "end": start + max(len(shown) - 1, 0),
                "uri": page_uri(page, start),
                "first_page_uri": page_uri(0, 0),
                "next_page_uri": page_uri(page + 1, start + page_size) if more else None,
                "previous_page_uri": page_uri(page - 1, max(start - page_size, 0)) if page > 0 else None,
            }
        )

    async def _fetch_message(self, request: Request) -> Response:
        refused = self._refuse_credentials(request)
        if refused is not None:
            return refused
        for message in self.messages:
            if message["sid"] == request.path_params["sid"]:
                return JSONResponse(_resource(message))
        return _twilio_error(404, 20404, f"The requested resource {request.url.path} was not found")

    def _refuse_credentials(self, request: Request) -> Response | None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.headers.get("authorization", "")
        if request.path_params["account_sid"] != self.account_sid or not hmac.compare_digest(
            given, f"Basic {expected}"
        ):
            return _twilio_error(401, 20003, "Authenticate")
        return None

    def _take_fault(self) -> Fault | None:
        now = time.monotonic()
        self.faults = [fault for fault in self.faults if fault.active(now)]
        if not self.faults:
            return None
        fault = self.faults[0]
        if fault.times is not None and fault.until is None:
            fault.times -= 1
        return fault

    def _keep(self, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        message: dict[str, Any] = {
            "sid": f"SM{secrets.token_hex(16)}",
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "num_segments": segments(form["Body"]),
            "status_callback": form.get("StatusCallback"),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "callbacks": [],
        }
        self.messages.append(message)
        return message

    async def _report_delivery(self, message: dict[str, Any], url: str | None) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            for status in ("sent", "delivered"):
                await asyncio.sleep(self.callback_delay_seconds)
                message["status"] = status
                message["date_updated"] = datetime.now(UTC)
                if status == "sent":
                    message["date_sent"] = message["date_updated"]
                if url is None:
                    continue
                params = {
                    "AccountSid": self.account_sid,
                    "ApiVersion": API_VERSION,
                    "From": message["from"],
                    "MessageSid": message["sid"],
                    "MessageStatus": status,
                    "SmsSid": message["sid"],
                    "SmsStatus": status,
                    "To": message["to"],
                }
                headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
                try:
                    answer = await client.post(url, data=params, headers=headers)
                    message["callbacks"].append({"status": status, "answer": answer.status_code})
                except httpx.HTTPError as error:
                    message["callbacks"].append({"status": status, "answer": None, "error": str(error)})

    # Control

    async def _messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.messages.clear()
            return Response(status_code=204)
        return JSONResponse({"items": [_shown(message) for message in self.messages]})

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            spec = await request.json()
            for_seconds = spec.get("for_seconds")
            times = spec.get("times")
            self.faults.append(
                Fault(
                    status=int(spec["status"]) if spec.get("status") is not None else None,
                    times=int(times) if times is not None else (None if for_seconds is not None else 1),
                    until=time.monotonic() + float(for_seconds) if for_seconds is not None else None,
                    delay_seconds=float(spec.get("delay_seconds", 0)),
                )
            )
        elif request.method == "DELETE":
            self.faults.clear()
        now = time.monotonic()
        self.faults = [fault for fault in self.faults if fault.active(now)]
        return JSONResponse(
            {"faults": [asdict(fault) for fault in self.faults]}, status_code=201 if request.method == "POST" else 200
        )


def _invalid_message(form: dict[str, str]) -> tuple[int, str] | None:
    """Twilio's error code and message for a message it would refuse, or None."""
    to, body = form.get("To", ""), form.get("Body", "")
    if not to:
        return 21604, "A 'To' phone number is required."
    if not form.get("From"):
        return 21603, "A 'From' phone number is required."
    if not body:
        return 21602, "Message body is required."
    if len(body) > MAX_BODY_CHARACTERS:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    if to in MAGIC_TO_ERRORS:
        return MAGIC_TO_ERRORS[to]
    if not _valid_number(to):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    return None


def _moment(value: str) -> datetime | date:
    """A `DateSent` filter's value: `YYYY-MM-DD`, or a date and time in UTC as the SDK sends it."""
    if len(value) == len("YYYY-MM-DD"):
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _sent_matches(date_sent: datetime | None, operator: str, moment: datetime | date) -> bool:
    """Whether a message sent at `date_sent` passes a `DateSent` filter: `=` the same day; `>`
    and `<` on or after, on or before (to the day for a date, to the second for a time)."""
    if date_sent is None:
        return False
    if operator == "=":
        return date_sent.date() == (moment.date() if isinstance(moment, datetime) else moment)
    if isinstance(moment, datetime):
        return date_sent >= moment if operator == ">" else date_sent <= moment
    return date_sent.date() >= moment if operator == ">" else date_sent.date() <= moment


def _valid_number(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return JSONResponse(body | {"status": status}, status_code=status)


def _resource(message: dict[str, Any]) -> dict[str, Any]:
    """The message as Twilio's API shows it (dates in RFC 2822, counts as strings)."""
    uri = f"/{API_VERSION}/Accounts/{message['account_sid']}/Messages/{message['sid']}.json"
    return {
        "sid": message["sid"],
        "account_sid": message["account_sid"],
        "api_version": API_VERSION,
        "to": message["to"],
        "from": message["from"],
        "body": message["body"],
        "status": message["status"],
        "direction": "outbound-api",
        "num_segments": str(message["num_segments"]),
        "num_media": "0",
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "price": None,
        "price_unit": "USD",
        "date_created": format_datetime(message["date_created"], usegmt=True),
        "date_updated": format_datetime(message["date_updated"], usegmt=True),
        "date_sent": format_datetime(message["date_sent"], usegmt=True) if message["date_sent"] else None,
        "uri": uri,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
    }


def _shown(message: dict[str, Any]) -> dict[str, Any]:
    return {
        **message,
        "date_created": message["date_created"].isoformat(),
        "date_updated": message["date_updated"].isoformat(),
        "date_sent": message["date_sent"].isoformat() if message["date_sent"] else None,
    }


async def _healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Twilio-compatible SMS sink.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--callback-delay", type=float, default=0.2, help="seconds before each status callback")
    arguments = parser.parse_args()
    sink = TwilioSink(
        account_sid=arguments.account_sid,
        auth_token=arguments.auth_token,
        callback_delay_seconds=arguments.callback_delay,
    )
    uvicorn.run(sink.app(), host="127.0.0.1", port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
