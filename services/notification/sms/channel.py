"""The SMS channel as the delivery worker sends it (a `Sender`): Twilio's answers turned into
the worker's outcomes, and no second SMS for a delivery an earlier attempt already sent.

Twilio takes no idempotency key, so a delivery attempted before (its attempt timed out after
Twilio took the message, or its worker died mid-send and the lease ran out) is looked up
before it is sent again: a message from our number to the same number with the same body,
sent since the delivery was queued (less `LOOKUP_MARGIN` for the clocks' disagreement), is
taken as this delivery's, recorded sent with that SID, and nothing is sent.

What is left, honestly: Twilio lists a message only once it has sent it on (its `date_sent`).
A message Twilio took but still holds queued when the next attempt looks is not found, and is
sent a second time; the retry's backoff (up to `NOTIFICATION_RETRY_BASE_SECONDS` after the
first failure, the lease after a crash) makes that rare, not impossible. And a message of the
very same text to the same number since the delivery was queued (the same notification told
twice) would be taken for this one; the texts name the booking's reference, so that is
another event telling the same thing, which the notification model already forbids.
"""

from datetime import timedelta

from services.notification.notifications.domain import DeliveryFailed, OutgoingMessage
from services.notification.sms.sender import PermanentSmsError, RetryableSmsError, SmsSender

LOOKUP_MARGIN = timedelta(minutes=5)
# Refusals of our account, not of the message: fixed by correcting the settings, after which
# the messages waiting go out, so they are retried rather than dead.
ACCOUNT_REFUSALS = frozenset({401, 403})


class SmsChannel:
    """Sends a delivery's text (its content, UTF-8) to its address (E.164) through `sms`, an
    `SmsSender` opened for the app's lifetime."""

    def __init__(self, sms: SmsSender) -> None:
        self._sms = sms

    async def send(self, message: OutgoingMessage) -> str:
        body = message.content.decode()
        try:
            if message.attempts > 1:
                earlier = await self._sms.find_sent(message.address, body, since=message.queued_at - LOOKUP_MARGIN)
                if earlier is not None:
                    return earlier
            return await self._sms.send(message.address, body)
        except RetryableSmsError as error:
            raise DeliveryFailed(f"SMS: {error}") from error
        except PermanentSmsError as error:
            code = f" (Twilio code {error.code})" if error.code is not None else ""
            raise DeliveryFailed(f"SMS: {error}{code}", permanent=error.status not in ACCOUNT_REFUSALS) from error
