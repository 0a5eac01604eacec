"""The official Stripe SDK, configured once: the same code talks to Stripe or to localstripe."""

import stripe

from services.payment.settings import PaymentSettings


def create_stripe_client(settings: PaymentSettings) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else {},
        http_client=stripe.HTTPXClient(),
        max_network_retries=settings.stripe_max_network_retries,
    )
