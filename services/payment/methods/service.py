"""Saved payment methods: a traveler's cards, attached to their own Stripe Customer, so that
an expert they trust can book for them and the default card is charged off session."""

import logging
from dataclasses import dataclass
from uuid import UUID

import stripe
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.methods.models import PaymentCustomer, SavedPaymentMethod
from services.payment.methods.schemas import SaveMethodRequest
from shared.errors import AppError, BadGateway, Conflict, InvalidInput, NotFound
from shared.identity import Identity

logger = logging.getLogger(__name__)


class CardDeclined(AppError):
    status_code = 402
    error_code = "CARD_DECLINED"


@dataclass(frozen=True)
class ChargeableMethod:
    customer_id: str
    payment_method_id: str


async def save_method(
    session: AsyncSession, *, stripe_client: stripe.StripeClient, traveler: Identity, request: SaveMethodRequest
) -> SavedPaymentMethod:
    """Attach the card to the traveler's Customer (made on their first card) and keep it; the
    first card, or one saved with `make_default`, becomes the default."""
    customer_id = await _customer_of(session, stripe_client=stripe_client, traveler=traveler)
    try:
        method = await stripe_client.v1.payment_methods.attach_async(
            request.payment_method,
            params={"customer": customer_id},
            options={"idempotency_key": f"attach:{request.payment_method}:{customer_id}"},
        )
    except stripe.CardError:
        raise CardDeclined("The card was declined; try another.") from None
    except stripe.InvalidRequestError:
        raise InvalidInput(
            "There is no such payment method.", details={"payment_method": request.payment_method}
        ) from None
    except stripe.StripeError as error:
        logger.warning("stripe refused to attach a payment method for %s: %s", traveler.user_id, error)
        raise BadGateway("The payment provider is unavailable; try again.") from None
    if method.card is None:
        raise InvalidInput("Only cards can be saved.", details={"payment_method": request.payment_method})

    # The traveler's Customer row serializes saves, so one default is chosen at a time.
    await session.scalar(
        select(PaymentCustomer).where(PaymentCustomer.traveler_id == traveler.user_id).with_for_update()
    )
    already_saved = await session.scalar(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.traveler_id == traveler.user_id,
            SavedPaymentMethod.stripe_payment_method_id == method.id,
        )
    )
    if already_saved is not None:
        await session.commit()
        return already_saved  # Stripe attaches a card once; saving it again changes nothing
    has_default = await session.scalar(
        select(SavedPaymentMethod.id).where(
            SavedPaymentMethod.traveler_id == traveler.user_id, SavedPaymentMethod.is_default
        )
    )
    make_default = request.make_default or has_default is None
    if make_default:
        await session.execute(
            update(SavedPaymentMethod)
            .where(SavedPaymentMethod.traveler_id == traveler.user_id, SavedPaymentMethod.is_default)
            .values(is_default=False)
        )
    saved = SavedPaymentMethod(
        traveler_id=traveler.user_id,
        stripe_payment_method_id=method.id,
        brand=method.card.brand,
        last4=method.card.last4,
        exp_month=method.card.exp_month,
        exp_year=method.card.exp_year,
        is_default=make_default,
    )
    session.add(saved)
    await session.commit()
    return saved


async def _customer_of(session: AsyncSession, *, stripe_client: stripe.StripeClient, traveler: Identity) -> str:
    """The traveler's Stripe Customer id, made at Stripe the first time."""
    existing = await session.scalar(
        select(PaymentCustomer.stripe_customer_id).where(PaymentCustomer.traveler_id == traveler.user_id)
    )
    if existing is not None:
        return existing
    try:
        customer = await stripe_client.v1.customers.create_async(
            params={"email": traveler.email, "metadata": {"traveler_id": str(traveler.user_id)}},
            options={"idempotency_key": f"customer:{traveler.user_id}"},
        )
    except stripe.StripeError as error:
        logger.warning("stripe refused a customer for %s: %s", traveler.user_id, error)
        raise BadGateway("The payment provider is unavailable; try again.") from None
    await session.execute(
        insert(PaymentCustomer)
        .values(traveler_id=traveler.user_id, stripe_customer_id=customer.id)
        # No conflict target: a concurrent first save got the same Customer (Stripe replays the
        # idempotent create), and may collide on either unique column.
        .on_conflict_do_nothing()
    )
    await session.commit()
    # A concurrent first save may have won: its Customer is the traveler's, ours stays unused.
    winner = await session.scalar(
        select(PaymentCustomer.stripe_customer_id).where(PaymentCustomer.traveler_id == traveler.user_id)
    )
    assert winner is not None
    return winner


async def methods_of(session: AsyncSession, *, traveler: Identity) -> list[SavedPaymentMethod]:
    """The traveler's saved cards, the default first, then the newest."""
    return list(
        (
            await session.scalars(
                select(SavedPaymentMethod)
                .where(SavedPaymentMethod.traveler_id == traveler.user_id)
                .order_by(SavedPaymentMethod.is_default.desc(), SavedPaymentMethod.created_at.desc())
            )
        ).all()
    )


async def remove_method(
    session: AsyncSession, *, stripe_client: stripe.StripeClient, traveler: Identity, method_id: UUID
) -> None:
    """Forget a saved card (the newest other card becomes the default if it was), then detach
    it at Stripe. A failed detach leaves only a card at Stripe that nothing here charges."""
    await session.scalar(
        select(PaymentCustomer).where(PaymentCustomer.traveler_id == traveler.user_id).with_for_update()
    )
    method = await session.scalar(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.id == method_id, SavedPaymentMethod.traveler_id == traveler.user_id
        )
    )
    if method is None:
        raise NotFound("No such payment method.")
    await session.delete(method)
    if method.is_default:
        await session.flush()
        successor = await session.scalar(
            select(SavedPaymentMethod)
            .where(SavedPaymentMethod.traveler_id == traveler.user_id)
            .order_by(SavedPaymentMethod.created_at.desc())
            .limit(1)
        )
        if successor is not None:
            successor.is_default = True
    await session.commit()
    try:
        await stripe_client.v1.payment_methods.detach_async(
            method.stripe_payment_method_id, options={"idempotency_key": f"detach:{method.stripe_payment_method_id}"}
        )
    except stripe.StripeError as error:
        logger.warning("stripe did not detach %s: %s", method.stripe_payment_method_id, error)


async def default_method(session: AsyncSession, *, traveler_id: UUID) -> ChargeableMethod:
    """What to charge when the traveler is not there: their default card. 409
    NO_SAVED_PAYMENT_METHOD when they have none."""
    row = (
        await session.execute(
            select(PaymentCustomer.stripe_customer_id, SavedPaymentMethod.stripe_payment_method_id)
            .join(SavedPaymentMethod, SavedPaymentMethod.traveler_id == PaymentCustomer.traveler_id)
            .where(PaymentCustomer.traveler_id == traveler_id, SavedPaymentMethod.is_default)
        )
    ).one_or_none()
    if row is None:
        raise Conflict("The traveler has no saved payment method.", error_code="NO_SAVED_PAYMENT_METHOD")
    return ChargeableMethod(customer_id=row.stripe_customer_id, payment_method_id=row.stripe_payment_method_id)
