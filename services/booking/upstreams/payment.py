"""Payment's HTTP API as booking calls it: PaymentIntents for what a traveler pays."""

import httpx

from shared.auth import ActingFor
from shared.contracts.payment_api import PaymentIntent, PaymentIntentRequest
from shared.http_client import ServiceCalls


class PaymentClient:
    """Payment, called for the traveler who pays (`acting`)."""

    def __init__(self, http: httpx.AsyncClient, *, acting: ActingFor) -> None:
        self._calls = ServiceCalls(http, audience="payment", acting=acting)

    async def create_intent(self, request: PaymentIntentRequest) -> PaymentIntent:
        """The intent for `request`; asking again for the same booking and purpose gives the
        same one."""
        return await self._calls.call("POST", "/internal/payment-intents", body=request, answer=PaymentIntent)
