import hashlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.booking.calendars import service
from services.booking.calendars.schemas import FeedOut
from services.booking.calendars.service import Feeds
from services.booking.deps import SettingsDep
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import NOT_FOUND
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(tags=["Calendars"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]
Provider = Annotated[Identity, Depends(require_role("provider"))]
# Missing, it is simply a wrong token: 404 like any other.
FeedToken = Annotated[str, Query(max_length=200)]

_ICS: dict[int | str, dict[str, Any]] = {
    status.HTTP_200_OK: {"content": {"text/calendar": {"schema": {"type": "string"}}}}
}


def _feeds(settings: SettingsDep) -> Feeds:
    return Feeds.of(settings)


FeedsDep = Annotated[Feeds, Depends(_feeds)]


def _calendar_answer(body: bytes, request: Request, *, max_age: int) -> Response:
    """The feed with an ETag of its bytes: a calendar app that has this version gets 304."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={max_age}"}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/trips/{trip_id}/calendar", responses=problems(NOT_FOUND))
async def trip_feed_address(trip_id: UUID, owner: Traveler, session: SessionDep, feeds: FeedsDep) -> FeedOut:
    return await service.trip_feed_address(session, trip_id=trip_id, owner=owner, feeds=feeds)


@router.post("/trips/{trip_id}/calendar/rotate", responses=problems(NOT_FOUND))
async def rotate_trip_feed(trip_id: UUID, owner: Traveler, session: SessionDep, feeds: FeedsDep) -> FeedOut:
    return await service.rotate_trip_feed(session, trip_id=trip_id, owner=owner, feeds=feeds)


@router.get("/trips/{trip_id}/calendar.ics", response_class=Response, responses=_ICS | problems(NOT_FOUND))
async def trip_calendar(
    trip_id: UUID, session: SessionDep, feeds: FeedsDep, settings: SettingsDep, request: Request, token: FeedToken = ""
) -> Response:
    body = await service.trip_calendar(session, trip_id=trip_id, token=token, feeds=feeds)
    return _calendar_answer(body, request, max_age=settings.calendar_cache_seconds)


@router.get("/providers/me/calendar")
async def provider_feed_address(provider: Provider, session: SessionDep, feeds: FeedsDep, request: Request) -> FeedOut:
    return await service.provider_feed_address(session, provider=provider, feeds=feeds, clock=request.app.state.clock)


@router.post("/providers/me/calendar/rotate")
async def rotate_provider_feed(provider: Provider, session: SessionDep, feeds: FeedsDep, request: Request) -> FeedOut:
    return await service.rotate_provider_feed(session, provider=provider, feeds=feeds, clock=request.app.state.clock)


@router.get("/providers/me/calendar.ics", response_class=Response, responses=_ICS | problems(NOT_FOUND))
async def provider_calendar(
    session: SessionDep, feeds: FeedsDep, settings: SettingsDep, request: Request, token: FeedToken = ""
) -> Response:
    body = await service.provider_calendar(session, token=token, feeds=feeds, clock=request.app.state.clock)
    return _calendar_answer(body, request, max_age=settings.calendar_cache_seconds)
