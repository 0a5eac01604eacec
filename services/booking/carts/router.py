from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.booking.carts import service
from services.booking.carts.schemas import CartItemIn, CartOut, CheckoutOut, CheckoutRequest
from services.booking.deps import CallerUpstreams, SettingsDep
from services.booking.history.service import Origin
from services.booking.idempotency.router import IdempotencyKey, answer_once
from shared.auth import require_role
from shared.deps import SessionDep
from shared.error_codes import (
    BAD_GATEWAY,
    CART_CHECKED_OUT,
    CHECKOUT_IN_PROGRESS,
    CURRENCY_MISMATCH,
    FORBIDDEN,
    HOLD_REFUSALS,
    IDEMPOTENCY_REFUSALS,
    NOT_REQUEST_BOOKABLE,
    PARTY_TOO_LARGE,
    PAYMENT_REFUSALS,
    REFERENCE_EXHAUSTED,
    REQUEST_EXISTS,
    TOO_MANY_OPEN_REQUESTS,
    WRONG_ITEM_KIND,
)
from shared.identity import Identity
from shared.openapi import problems

router = APIRouter(prefix="/carts", tags=["Carts"])

Traveler = Annotated[Identity, Depends(require_role("traveler"))]


@router.post("", status_code=201, response_model=CartOut, responses=problems(*IDEMPOTENCY_REFUSALS))
async def create_cart(
    traveler: Traveler,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def answer() -> dict[str, Any]:
        cart = await service.create_cart(session, traveler=traveler, clock=request.app.state.clock)
        return service.cart_out(cart, []).model_dump(mode="json")

    return await answer_once(request, user_id=traveler.user_id, key=idempotency_key, body={}, status=201, answer=answer)


@router.get("/{cart_id}")
async def read_cart(cart_id: UUID, traveler: Traveler, session: SessionDep) -> CartOut:
    cart = await service.get_cart(session, cart_id=cart_id, traveler=traveler)
    return service.cart_out(cart, await service.items_of(session, cart.id))


@router.post(
    "/{cart_id}/items",
    status_code=201,
    responses=problems(CART_CHECKED_OUT, CURRENCY_MISMATCH, WRONG_ITEM_KIND, PARTY_TOO_LARGE, BAD_GATEWAY),
)
async def add_cart_item(
    cart_id: UUID,
    body: CartItemIn,
    traveler: Traveler,
    session: SessionDep,
    upstreams: CallerUpstreams,
    request: Request,
) -> CartOut:
    await service.add_item(
        session, cart_id=cart_id, traveler=traveler, item=body, upstreams=upstreams, clock=request.app.state.clock
    )
    cart = await service.get_cart(session, cart_id=cart_id, traveler=traveler)
    return service.cart_out(cart, await service.items_of(session, cart.id))


@router.delete("/{cart_id}/items/{item_id}", status_code=204, responses=problems(CART_CHECKED_OUT))
async def remove_cart_item(cart_id: UUID, item_id: UUID, traveler: Traveler, session: SessionDep) -> None:
    await service.remove_item(session, cart_id=cart_id, item_id=item_id, traveler=traveler)


@router.post(
    "/{cart_id}/checkout",
    response_model=CheckoutOut,
    responses=problems(
        FORBIDDEN,
        CHECKOUT_IN_PROGRESS,
        CART_CHECKED_OUT,
        *IDEMPOTENCY_REFUSALS,
        *HOLD_REFUSALS,
        *PAYMENT_REFUSALS,
        NOT_REQUEST_BOOKABLE,
        REQUEST_EXISTS,
        TOO_MANY_OPEN_REQUESTS,
        REFERENCE_EXHAUSTED,
        BAD_GATEWAY,
    ),
)
async def check_out_cart(
    cart_id: UUID,
    body: CheckoutRequest,
    traveler: Traveler,
    session: SessionDep,
    upstreams: CallerUpstreams,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Checking out again answers the same without an Idempotency-Key too (each item is done
    once); with one, the same key with another body is 422 IDEMPOTENCY_KEY_REUSED."""

    async def answer() -> dict[str, Any]:
        checked_out = await service.checkout(
            session,
            cart_id=cart_id,
            traveler=traveler,
            origin=Origin.of(request),
            request=body,
            upstreams=upstreams,
            partner_ids=settings.affiliate_partner_ids,
            deadlines=settings.request_deadlines(),
            max_open_requests=settings.max_open_requests_per_traveler,
            clock=request.app.state.clock,
        )
        return checked_out.model_dump(mode="json")

    return await answer_once(
        request,
        user_id=traveler.user_id,
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=200,
        answer=answer,
    )
