"""Mixed carts: a traveler gathers instant, request, external and expert items; checkout turns
each into what its kind becomes (a booking, a booking request, tracked links, a handoff) and
charges the instant bookings as one payment. An item that cannot be had is reported, and
nothing is charged for it. Each item's outcome is kept, so a retried checkout redoes nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.affiliate.domain import Partner
from services.booking.affiliate.service import links_for_listing
from services.booking.bookings.domain import check_party_size
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import Money, PaymentOut
from services.booking.bookings.service import booking_out, hold_seats, record_booking
from services.booking.carts.models import Cart, CartItem
from services.booking.carts.schemas import (
    BookedItem,
    CartItemIn,
    CartItemOut,
    CartOut,
    CheckoutOut,
    CheckoutRequest,
    ExternalItem,
    HandedOverItem,
    InstantItem,
    LinkedItem,
    RequestedItem,
    RequestItem,
    UnavailableItem,
)
from services.booking.experts import service as experts
from services.booking.experts.models import ExpertHandoff
from services.booking.experts.schemas import HandoffCreate
from services.booking.history.service import Actor, Origin
from services.booking.requests import service as requests
from services.booking.requests.domain import Deadlines
from services.booking.requests.models import BookingRequest
from services.booking.requests.schemas import BookingRequestCreate
from services.booking.upstreams.binding import Upstreams
from shared.clock import Clock
from shared.contracts.inventory_api import Party
from shared.contracts.payment_api import PaymentIntentRequest, PaymentPart
from shared.errors import AppError, Conflict, InvalidInput, NotFound
from shared.identity import Identity

# A checkout that has not finished in this long is taken to have died with its process.
TAKE_OVER_AFTER = timedelta(minutes=2)
# The listing's booking mode each kind of item is for.
MODE_OF_KIND = {"instant": "instant", "request": "request", "external": "external"}


def cart_out(cart: Cart, items: list[CartItem]) -> CartOut:
    return CartOut(
        id=cart.id,
        status=cart.status,
        created_at=cart.created_at,
        checked_out_at=cart.checked_out_at,
        items=[
            CartItemOut(
                id=item.id, kind=item.kind, details=item.details, outcome=item.outcome, created_at=item.created_at
            )
            for item in items
        ],
    )


async def create_cart(session: AsyncSession, *, traveler: Identity, clock: Clock) -> Cart:
    cart = Cart(traveler_id=traveler.user_id, status="open", created_at=clock.now())
    session.add(cart)
    await session.commit()
    return cart


async def get_cart(session: AsyncSession, *, cart_id: UUID, traveler: Identity, lock: bool = False) -> Cart:
    cart = await session.get(Cart, cart_id, with_for_update=lock)
    if cart is None or (cart.traveler_id != traveler.user_id and not traveler.is_admin):
        raise NotFound("No such cart.")
    return cart


async def items_of(session: AsyncSession, cart_id: UUID) -> list[CartItem]:
    rows = await session.scalars(
        select(CartItem).where(CartItem.cart_id == cart_id).order_by(CartItem.created_at, CartItem.id)
    )
    return list(rows.all())


def _check_open(cart: Cart) -> None:
    if cart.status != "open":
        raise Conflict(
            "This cart has been checked out.", error_code="CART_CHECKED_OUT", details={"cart_id": str(cart.id)}
        )


async def add_item(
    session: AsyncSession, *, cart_id: UUID, traveler: Identity, item: CartItemIn, upstreams: Upstreams, clock: Clock
) -> CartItem:
    """Add an item once inventory confirms it is of its kind: a slot of an instant or request
    listing with room for the party, or a listing sold by partners. Instant items share one
    currency, as they are paid together."""
    cart = await get_cart(session, cart_id=cart_id, traveler=traveler)
    _check_open(cart)
    details: dict[str, Any] = item.model_dump(mode="json", exclude={"kind"})
    if isinstance(item, InstantItem | RequestItem):
        slot = await upstreams.inventory.read_slot_for(
            item.slot_id, party=Party(adults=item.adults, children=item.children, infants=item.infants)
        )
        _check_mode(item.kind, slot.booking_mode)
        check_party_size(item.adults + item.children + item.infants, max_party_size=slot.max_party_size)
        details |= {
            "listing_id": str(slot.listing_id),
            "listing_title": slot.listing_title,
            "currency": slot.currency,
        }
        if isinstance(item, InstantItem):
            await _check_one_currency(session, cart, slot.currency)
    elif isinstance(item, ExternalItem):
        listing = await upstreams.inventory.read_listing(item.listing_id)
        _check_mode(item.kind, listing.booking_mode)
        details |= {"listing_title": listing.title}
    elif item.expert_id == traveler.user_id:
        raise InvalidInput("A trip is handed to someone else.", details={"expert_id": str(item.expert_id)})
    cart_item = CartItem(cart_id=cart.id, kind=item.kind, details=details, created_at=clock.now())
    session.add(cart_item)
    await session.commit()
    return cart_item


def _check_mode(kind: str, booking_mode: str) -> None:
    if MODE_OF_KIND[kind] != booking_mode:
        raise Conflict(
            f"This listing is booked {booking_mode}, not as a {kind} item.",
            error_code="WRONG_ITEM_KIND",
            details={"kind": kind, "booking_mode": booking_mode},
        )


async def _check_one_currency(session: AsyncSession, cart: Cart, currency: str) -> None:
    others = {item.details["currency"] for item in await items_of(session, cart.id) if item.kind == "instant"}
    if others and others != {currency}:
        raise Conflict(
            "Instant items are paid together, in one currency.",
            error_code="CURRENCY_MISMATCH",
            details={"cart_currency": sorted(others)[0], "item_currency": currency},
        )


async def remove_item(session: AsyncSession, *, cart_id: UUID, item_id: UUID, traveler: Identity) -> None:
    cart = await get_cart(session, cart_id=cart_id, traveler=traveler, lock=True)
    _check_open(cart)
    item = await session.get(CartItem, item_id)
    if item is None or item.cart_id != cart.id:
        raise NotFound("No such item in this cart.")
    await session.delete(item)
    await session.commit()


async def checkout(
    session: AsyncSession,
    *,
    cart_id: UUID,
    traveler: Identity,
    origin: Origin,
    request: CheckoutRequest,
    upstreams: Upstreams,
    partner_ids: dict[Partner, str],
    deadlines: Deadlines,
    max_open_requests: int,
    clock: Clock,
) -> CheckoutOut:
    """Turn every item into what its kind becomes, then ask payment for one intent covering
    the instant bookings. An item already done (a retried checkout) is not done again."""
    cart = await get_cart(session, cart_id=cart_id, traveler=traveler, lock=True)
    if cart.status == "checked_out":
        return await checkout_out(session, cart, partner_ids=partner_ids, upstreams=upstreams)
    if not await items_of(session, cart.id):
        raise InvalidInput("The cart is empty.", details={"cart_id": str(cart.id)})
    now = clock.now()
    if cart.status == "checking_out" and cart.checkout_started_at and now - cart.checkout_started_at < TAKE_OVER_AFTER:
        raise Conflict(
            "This cart is being checked out; try again in a moment.",
            error_code="CHECKOUT_IN_PROGRESS",
            details={"cart_id": str(cart.id)},
        )
    cart.status, cart.checkout_started_at = "checking_out", now
    await session.commit()
    for item in await items_of(session, cart.id):
        if item.outcome is not None:
            continue
        try:
            outcome = await _check_out_item(
                session,
                item,
                traveler=traveler,
                origin=origin,
                request=request,
                upstreams=upstreams,
                deadlines=deadlines,
                max_open_requests=max_open_requests,
                clock=clock,
            )
        except AppError as error:
            await session.rollback()
            outcome = {
                "status": "unavailable",
                "error_code": error.error_code,
                "message": error.message,
                "details": error.details,
            }
        item = await session.get_one(CartItem, item.id)
        if item.outcome is None:
            item.outcome = outcome
            await session.commit()
    await _charge_instant_bookings(session, cart, upstreams=upstreams)
    cart = await get_cart(session, cart_id=cart_id, traveler=traveler, lock=True)
    cart.status, cart.checked_out_at = "checked_out", clock.now()
    await session.commit()
    return await checkout_out(session, cart, partner_ids=partner_ids, upstreams=upstreams)


async def _check_out_item(
    session: AsyncSession,
    item: CartItem,
    *,
    traveler: Identity,
    origin: Origin,
    request: CheckoutRequest,
    upstreams: Upstreams,
    deadlines: Deadlines,
    max_open_requests: int,
    clock: Clock,
) -> dict[str, Any]:
    details = item.details
    party: dict[str, int] = {key: details[key] for key in ("adults", "children", "infants") if key in details}
    if item.kind == "instant":
        hold = await hold_seats(
            upstreams.inventory, slot_id=UUID(details["slot_id"]), party=Party.model_validate(party)
        )

        async def record_outcome(booking: Booking) -> None:
            item.outcome = {"status": "booked", "booking_id": str(booking.id)}

        booking = await record_booking(
            session,
            traveler_id=traveler.user_id,
            actor=Actor(role="traveler", user_id=traveler.user_id, origin=origin),
            hold=hold,
            contact=request.contact,
            special_requests=request.special_requests,
            payment_option=request.payment_option,
            now=clock.now(),
            alongside=record_outcome,
        )
        return {"status": "booked", "booking_id": str(booking.id)}
    if item.kind == "request":
        booking_request = await requests.create_request(
            session,
            traveler=traveler,
            request=BookingRequestCreate(
                slot_id=details["slot_id"], message=details.get("message"), contact=request.contact, **party
            ),
            inventory=upstreams.inventory,
            deadlines=deadlines,
            max_open_requests=max_open_requests,
            clock=clock,
        )
        return {"status": "requested", "request_id": str(booking_request.id)}
    if item.kind == "external":
        return {"status": "linked", "listing_id": details["listing_id"], "partner": details.get("partner")}
    handoff = await experts.request_handoff(
        session,
        traveler=traveler,
        request=HandoffCreate.model_validate(
            {key: details[key] for key in HandoffCreate.model_fields if key in details}
        ),
        clock=clock,
    )
    return {"status": "handed_over", "handoff_id": str(handoff.id)}


async def _charge_instant_bookings(session: AsyncSession, cart: Cart, *, upstreams: Upstreams) -> None:
    """One PaymentIntent for every instant booking of the checkout, known to payment by the
    cart's id, with each booking's part (its provider and amount) for the split."""
    bookings = await _bookings_of(session, cart.id)
    if not bookings or cart.payment_intent_id is not None:
        return
    total = sum((booking.amount_due_now for booking in bookings), Decimal(0))
    intent = await upstreams.payment.create_intent(
        PaymentIntentRequest(
            booking_id=cart.id,
            provider_id=bookings[0].provider_id,
            category=bookings[0].category,
            purpose="full",
            amount=total,
            currency=bookings[0].currency,
            parts=tuple(
                PaymentPart(booking_id=b.id, provider_id=b.provider_id, category=b.category, amount=b.amount_due_now)
                for b in bookings
            ),
        )
    )
    cart = await session.get_one(Cart, cart.id, with_for_update=True)
    cart.payment_intent_id, cart.client_secret = intent.payment_intent_id, intent.client_secret
    cart.amount_due_now, cart.currency = total, bookings[0].currency
    cart.platform_fee = intent.platform_fee
    for booking in bookings:
        booking.payment_intent_id, booking.client_secret = cart.payment_intent_id, cart.client_secret
    await session.commit()


async def _bookings_of(session: AsyncSession, cart_id: UUID) -> list[Booking]:
    booked = [
        UUID(item.outcome["booking_id"])
        for item in await items_of(session, cart_id)
        if item.outcome is not None and item.outcome.get("status") == "booked"
    ]
    if not booked:
        return []
    rows = await session.scalars(select(Booking).where(Booking.id.in_(booked)).order_by(Booking.created_at))
    return list(rows.all())


async def checkout_out(
    session: AsyncSession, cart: Cart, *, partner_ids: dict[Partner, str], upstreams: Upstreams
) -> CheckoutOut:
    answer = CheckoutOut(
        cart_id=cart.id,
        bookings=[],
        requests=[],
        links=[],
        handoffs=[],
        unavailable=[],
        total=None,
        amount_due_now=None,
        platform_fee=None,
        payment=None,
    )
    for item in await items_of(session, cart.id):
        outcome = item.outcome or {}
        status = outcome.get("status")
        if status == "booked":
            booking = await session.get_one(Booking, UUID(outcome["booking_id"]))
            answer.bookings.append(BookedItem(item_id=item.id, booking=booking_out(booking)))
        elif status == "requested":
            booking_request = await session.get_one(BookingRequest, UUID(outcome["request_id"]))
            answer.requests.append(RequestedItem(item_id=item.id, request=requests.request_out(booking_request)))
        elif status == "linked":
            page = await links_for_listing(
                session, listing_id=UUID(outcome["listing_id"]), inventory=upstreams.inventory, partner_ids=partner_ids
            )
            chosen = [link for link in page.items if outcome["partner"] in (None, link.partner)]
            answer.links.append(LinkedItem(item_id=item.id, links=chosen))
        elif status == "handed_over":
            handoff = await session.get_one(ExpertHandoff, UUID(outcome["handoff_id"]))
            [handoff_answer] = await experts.handoffs_out(session, [handoff])
            answer.handoffs.append(HandedOverItem(item_id=item.id, handoff=handoff_answer))
        else:
            answer.unavailable.append(
                UnavailableItem(
                    item_id=item.id,
                    kind=item.kind,
                    error_code=str(outcome.get("error_code", "UNAVAILABLE")),
                    message=str(outcome.get("message", "")),
                    details=dict(outcome.get("details") or {}),
                )
            )
    if cart.amount_due_now is not None and cart.currency is not None:
        answer.total = Money(amount=cart.amount_due_now, currency=cart.currency)
        answer.amount_due_now = answer.total
        answer.platform_fee = Money(amount=cart.platform_fee or Decimal(0), currency=cart.currency)
        answer.payment = PaymentOut(payment_intent_id=cart.payment_intent_id, client_secret=cart.client_secret)
    return answer
