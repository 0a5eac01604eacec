from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from services.notification.settings import NotificationSettings
from services.notification.sms import service
from shared.deps import SessionDep
from shared.error_codes import FORBIDDEN, VALIDATION_ERROR
from shared.openapi import problems

router = APIRouter(prefix="/notifications/webhooks", tags=["Notifications"])


@router.post("/twilio", status_code=204, responses=problems(FORBIDDEN, VALIDATION_ERROR))
async def receive_sms_status(request: Request, session: SessionDep) -> Response:
    """Twilio's word on a message sent (its status callback), signed with the auth token."""
    settings: NotificationSettings = request.app.state.resources.settings
    params = dict(parse_qsl((await request.body()).decode(errors="replace"), keep_blank_values=True))
    # Twilio signs the URL it called: the public one given as StatusCallback, not the one this
    # service sees behind the gateway.
    called = settings.sms_status_callback_url or str(request.url.replace(query=""))
    if request.url.query:
        called = f"{called}?{request.url.query}"
    service.verify_signature(
        called, params, request.headers.get("x-twilio-signature"), auth_token=settings.twilio_auth_token
    )
    await service.record_status(session, params, metrics=request.app.state.delivery_metrics)
    return Response(status_code=204)
