from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.booking.deps import SettingsDep, UpstreamPoolsDep
from services.booking.experts import service
from services.booking.experts.domain import HandoffAction, HandoffStatus
from services.booking.experts.schemas import (
    BookOnBehalf,
    ExpertProfileOut,
    ExpertProfileUpdate,
    GrantCreate,
    GrantOut,
    GrantPage,
    HandoffClose,
    HandoffCreate,
    HandoffOut,
    HandoffPage,
)
from services.booking.history.service import Origin
from services.booking.idempotency.router import IdempotencyKey, answer_once
from shared.auth import CurrentIdentity, require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    CONFLICT,
    FORBIDDEN,
    GRANT_REFUSALS,
    HANDOFF_NOT_BOOKABLE,
    HOLD_REFUSALS,
    IDEMPOTENCY_REFUSALS,
    INVALID_TRANSITION,
    NOT_FOUND,
    PAYMENT_REFUSALS,
    REFERENCE_EXHAUSTED,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(tags=["Experts"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]
Expert = Annotated[Identity, Depends(require_role("expert"))]
Admin = Annotated[Identity, Depends(require_role("admin"))]


@router.post(
    "/expert-handoffs",
    status_code=status.HTTP_201_CREATED,
    responses=problems(NOT_FOUND, *IDEMPOTENCY_REFUSALS, BAD_GATEWAY),
)
async def request_handoff(body: HandoffCreate, traveler: Traveler, session: SessionDep, request: Request) -> HandoffOut:
    handoff = await service.request_handoff(session, traveler=traveler, request=body, clock=request.app.state.clock)
    [answer] = await service.handoffs_out(session, [handoff])
    return answer


@router.get("/expert-handoffs")
async def list_handoffs(
    viewer: CurrentIdentity,
    session: SessionDep,
    status: HandoffStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> HandoffPage:
    handoffs, next_cursor = await service.list_handoffs(
        session, viewer=viewer, status=status, limit=limit, cursor=cursor
    )
    return HandoffPage(items=await service.handoffs_out(session, handoffs), next_cursor=next_cursor)


@router.get("/expert-handoffs/{handoff_id}", responses=problems(FORBIDDEN))
async def read_handoff(handoff_id: UUID, viewer: CurrentIdentity, session: SessionDep) -> HandoffOut:
    handoff = await service.get_handoff(session, handoff_id=handoff_id, viewer=viewer)
    [answer] = await service.handoffs_out(session, [handoff])
    return answer


async def _act(
    action: HandoffAction,
    handoff_id: UUID,
    actor: Identity,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    reason: str | None = None,
) -> HandoffOut:
    handoff = await service.act_on_handoff(
        session,
        handoff_id=handoff_id,
        actor=actor,
        action=action,
        reason=reason,
        default_fee_percentage=settings.expert_fee_percentage,
        clock=request.app.state.clock,
    )
    [answer] = await service.handoffs_out(session, [handoff])
    return answer


@router.post("/expert-handoffs/{handoff_id}/accept", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def accept_handoff(
    handoff_id: UUID, actor: CurrentIdentity, session: SessionDep, request: Request, settings: SettingsDep
) -> HandoffOut:
    return await _act("accept", handoff_id, actor, session, request, settings)


@router.post("/expert-handoffs/{handoff_id}/decline", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def decline_handoff(
    handoff_id: UUID,
    actor: CurrentIdentity,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    body: HandoffClose | None = None,
) -> HandoffOut:
    return await _act("decline", handoff_id, actor, session, request, settings, body.reason if body else None)


@router.post("/expert-handoffs/{handoff_id}/complete", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def complete_handoff(
    handoff_id: UUID, actor: CurrentIdentity, session: SessionDep, request: Request, settings: SettingsDep
) -> HandoffOut:
    return await _act("complete", handoff_id, actor, session, request, settings)


@router.post("/expert-handoffs/{handoff_id}/approve", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def approve_handoff(
    handoff_id: UUID, actor: CurrentIdentity, session: SessionDep, request: Request, settings: SettingsDep
) -> HandoffOut:
    return await _act("approve", handoff_id, actor, session, request, settings)


@router.post("/expert-handoffs/{handoff_id}/cancel", responses=problems(FORBIDDEN, INVALID_TRANSITION))
async def cancel_handoff(
    handoff_id: UUID,
    actor: CurrentIdentity,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    body: HandoffClose | None = None,
) -> HandoffOut:
    return await _act("cancel", handoff_id, actor, session, request, settings, body.reason if body else None)


@router.post(
    "/expert-handoffs/{handoff_id}/book-on-behalf",
    status_code=status.HTTP_201_CREATED,
    responses=problems(
        *GRANT_REFUSALS,
        HANDOFF_NOT_BOOKABLE,
        INVALID_TRANSITION,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        *IDEMPOTENCY_REFUSALS,
        REFERENCE_EXHAUSTED,
        BAD_GATEWAY,
    ),
)
async def book_on_behalf(
    handoff_id: UUID,
    body: BookOnBehalf,
    expert: Expert,
    request: Request,
    session: SessionDep,
    upstreams: UpstreamPoolsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def answer() -> dict[str, Any]:
        booking = await service.book_on_behalf(
            session,
            handoff_id=handoff_id,
            expert=expert,
            origin=Origin.of(request),
            request=body,
            upstreams=upstreams,
            clock=request.app.state.clock,
        )
        return service.booking_for_expert(booking).model_dump(mode="json")

    return await answer_once(
        request,
        user_id=expert.user_id,
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=status.HTTP_201_CREATED,
        answer=answer,
    )


@router.post("/expert-grants", status_code=status.HTTP_201_CREATED, responses=problems(CONFLICT))
async def give_grant(body: GrantCreate, traveler: Traveler, session: SessionDep, request: Request) -> GrantOut:
    return await service.give_grant(session, traveler=traveler, request=body, clock=request.app.state.clock)


@router.get("/expert-grants")
async def list_grants(
    viewer: CurrentIdentity,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> GrantPage:
    grants, next_cursor = await service.list_grants(
        session, viewer=viewer, limit=limit, cursor=cursor, clock=request.app.state.clock
    )
    return GrantPage(items=grants, next_cursor=next_cursor)


@router.delete("/expert-grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(FORBIDDEN))
async def revoke_grant(grant_id: UUID, viewer: CurrentIdentity, session: SessionDep, request: Request) -> Response:
    await service.revoke_grant(session, grant_id=grant_id, viewer=viewer, clock=request.app.state.clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/admin/experts/{expert_id}")
async def set_expert_profile(
    expert_id: UUID,
    body: ExpertProfileUpdate,
    admin: Admin,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
) -> ExpertProfileOut:
    profile = await service.set_profile(
        session, expert_id=expert_id, request=body, admin=admin, clock=request.app.state.clock
    )
    return service.profile_out(profile, expert_id=expert_id, default_fee_percentage=settings.expert_fee_percentage)


@router.get("/admin/experts/{expert_id}", dependencies=[Depends(require_role("admin"))])
async def read_expert_profile(expert_id: UUID, session: SessionDep, settings: SettingsDep) -> ExpertProfileOut:
    profile = await service.get_profile(session, expert_id=expert_id)
    return service.profile_out(profile, expert_id=expert_id, default_fee_percentage=settings.expert_fee_percentage)
