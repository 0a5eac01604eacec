"""Sending one SMS through Twilio's official SDK, on its async HTTP client, with each failure
typed by what the caller should do: try again later, or give up on this message."""

from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from services.notification.settings import NotificationSettings
from services.notification.sms.domain import fit_body
from services.notification.sms.phones import InvalidPhoneNumber, to_e164

# A traveler's number gets a handful of messages a day from us: the last hundred sent since a
# delivery was queued hold any earlier attempt of it.
LOOKUP_LIMIT = 100


class SmsNotSent(Exception):
    """Twilio did not take the message; `code` is Twilio's error code when it answered one."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RetryableSmsError(SmsNotSent):
    """Twilio was unreachable, too slow, overloaded (429) or failing (5xx): the same message may
    go through later."""


class PermanentSmsError(SmsNotSent):
    """Twilio refused the message itself (4xx: an invalid or unreachable number, an unsubscribed
    recipient), or the number is not one: sending it again gets the same answer."""


class RebasedAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # the SDK ships no types
    """Twilio's async HTTP client, sending to `api_base` (scheme, host and a path prefix) in place
    of Twilio's own host when one is given, and giving up after `timeout` seconds (the SDK's
    client applies only a per-request timeout, which its resources never pass)."""

    def __init__(self, *, api_base: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._api_base = urlsplit(api_base.rstrip("/")) if api_base else None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            # As a header: aiohttp deprecates the `auth` the SDK's client would pass it.
            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(*auth)}
        return await super().request(
            method,
            self._rebased(url),
            params=params,
            data=data,
            headers=headers,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )

    def _rebased(self, url: str) -> str:
        if self._api_base is None:
            return url
        parts = urlsplit(url)
        base = self._api_base
        return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment))


class SmsSender:
    """Sends SMS as the configured account, from the configured number, asking Twilio for
    delivery statuses at `sms_status_callback_url` when it is set. Open it in a running event
    loop (`async with SmsSender(settings) as sender`); it holds a connection pool until closed."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._http = RebasedAsyncHttpClient(api_base=settings.twilio_api_base, timeout=settings.twilio_timeout_seconds)
        self._client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http)

    async def send(self, to: str, body: str) -> str:
        """Send `body` to `to` (read into E.164 first; a number that is not one is refused
        before anything is sent); answers Twilio's message SID (`SM...`)."""
        try:
            number = to_e164(to, default_region=self._settings.sms_default_region)
        except InvalidPhoneNumber as error:
            raise PermanentSmsError(str(error)) from error
        try:
            message = await self._client.messages.create_async(
                to=number,
                from_=self._settings.sms_from,
                body=fit_body(body),
                status_callback=self._settings.sms_status_callback_url or values.unset,
            )
        except (TwilioRestException, TwilioServiceException) as error:
            refusal = PermanentSmsError if 400 <= error.status < 500 and error.status != 429 else RetryableSmsError
            raise refusal(f"Twilio answered {error.status}: {error}", status=error.status, code=error.code) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RetryableSmsError(f"Twilio could not be reached: {error!r}") from error
        sid = message.sid
        if not isinstance(sid, str):
            raise RetryableSmsError("Twilio answered without a message SID.")
        return sid

    async def find_sent(self, to: str, body: str, *, since: datetime) -> str | None:
        """The SID of a message with `body` (as `send` fits it) that Twilio sent from our number
        to `to` (E.164) on or after `since`, newest first; None if there is none. Twilio lists
        only messages it has sent (a `date_sent`): one it still holds queued is not found."""
        fitted = fit_body(body)
        # The SDK writes the time with a `Z` whatever its zone: it is given in UTC.
        try:
            messages = await self._client.messages.list_async(
                to=to, from_=self._settings.sms_from, date_sent_after=since.astimezone(UTC), limit=LOOKUP_LIMIT
            )
        except TwilioException as error:
            raise RetryableSmsError(f"Twilio's messages could not be listed: {error}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RetryableSmsError(f"Twilio could not be reached: {error!r}") from error
        for message in messages:
            if message.body == fitted and isinstance(message.sid, str):
                return message.sid
        return None

    async def aclose(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
