"""Fixtures of the services' own tests that integration tests run side by side."""

from services.analytics.tests.conftest import revenue_events  # noqa: F401
from services.payment.tests.conftest import payment_app, stripe_api_base, stripe_connect_double  # noqa: F401
