from typing import Annotated

import stripe
from fastapi import Depends, Request

from shared.clock import Clock


def get_stripe(request: Request) -> stripe.StripeClient:
    client: stripe.StripeClient = request.app.state.stripe
    return client


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


StripeDep = Annotated[stripe.StripeClient, Depends(get_stripe)]
ClockDep = Annotated[Clock, Depends(get_clock)]
