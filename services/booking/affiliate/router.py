from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import RedirectResponse

from services.booking.affiliate import service
from services.booking.affiliate.schemas import AffiliateLinkPage
from services.booking.deps import PublicInventory
from shared.deps import SessionDep
from shared.error_codes import BAD_GATEWAY, NOT_FOUND
from shared.openapi import problems

router = APIRouter(tags=["Affiliate"])


@router.get("/affiliate/links", responses=problems(NOT_FOUND, BAD_GATEWAY))
async def list_affiliate_links(
    listing_id: UUID, session: SessionDep, inventory: PublicInventory, request: Request
) -> AffiliateLinkPage:
    return await service.links_for_listing(
        session,
        listing_id=listing_id,
        inventory=inventory,
        partner_ids=request.app.state.resources.settings.affiliate_partner_ids,
    )


@router.get("/r/{code}", status_code=302, response_class=RedirectResponse)
async def follow_affiliate_link(
    code: Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9]+$")],
    session: SessionDep,
    request: Request,
    user_agent: Annotated[str | None, Header()] = None,
    referer: Annotated[str | None, Header()] = None,
) -> RedirectResponse:
    target = await service.follow_link(
        session,
        code=code,
        user_agent=user_agent,
        referrer=referer,
        partner_ids=request.app.state.resources.settings.affiliate_partner_ids,
        clock=request.app.state.clock,
    )
    return RedirectResponse(target, status_code=302)
