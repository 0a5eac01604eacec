"""Twilio's status callbacks: verified by their signature, then the message's status recorded,
never moved back by a callback that arrives late. A message reported `undelivered` or `failed`
makes its delivery (found by the SID the worker stored as its provider message id) dead with
Twilio's reason. A report that arrives before the worker recorded the SID (Twilio reports
within moments; the worker records right after Twilio answers) is kept in `sms_status` only."""

import logging
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.request_validator import RequestValidator

from services.notification.notifications.metrics import DeliveryMetrics
from services.notification.notifications.service import give_up_on_provider_report
from services.notification.sms.domain import NOT_DELIVERED, moves_forward
from services.notification.sms.models import SmsStatus
from shared.errors import Forbidden, InvalidInput

logger = logging.getLogger(__name__)


def verify_signature(url: str, params: Mapping[str, str], signature: str | None, *, auth_token: str) -> None:
    """Raise Forbidden unless `signature` is Twilio's for `url` (as Twilio called it) and `params`."""
    if not signature:
        raise Forbidden("The X-Twilio-Signature header is missing.")
    if not RequestValidator(auth_token).validate(url, dict(params), signature):
        raise Forbidden("The X-Twilio-Signature does not match the request.")


async def record_status(session: AsyncSession, params: Mapping[str, str], *, metrics: DeliveryMetrics) -> str:
    """Record the status a callback reports (`MessageSid`, `MessageStatus`, `ErrorCode`), unless
    the message is already further along; answers the status recorded now."""
    message_sid, status = params.get("MessageSid"), params.get("MessageStatus")
    if not message_sid or not status:
        raise InvalidInput("A status callback names its MessageSid and MessageStatus.")
    error_code = int(params["ErrorCode"]) if params.get("ErrorCode", "").isdigit() else None
    async with session.begin():
        await session.execute(
            insert(SmsStatus)
            .values(message_sid=message_sid, status=status, error_code=error_code)
            .on_conflict_do_nothing(index_elements=[SmsStatus.message_sid])
        )
        recorded = await session.scalar(select(SmsStatus).where(SmsStatus.message_sid == message_sid).with_for_update())
        assert recorded is not None  # inserted above, or there already
        if recorded.status != status and moves_forward(recorded.status, status):
            recorded.status = status
            recorded.error_code = error_code
            recorded.reported_at = func.now()
        dead_kind = None
        if recorded.status in NOT_DELIVERED:
            reason = f"Twilio reported the SMS {recorded.status} (error code {recorded.error_code})"
            dead_kind = await give_up_on_provider_report(
                session, channel="sms", provider_message_id=message_sid, reason=reason
            )
    if dead_kind is not None:
        metrics.dead.labels("sms", dead_kind).inc()
    logger.info(
        "sms status",
        extra={"message_sid": message_sid, "reported": status, "recorded": recorded.status, "error_code": error_code},
    )
    return recorded.status
