"""Which routes an API key's scopes cover: a pure rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.identity.scopes import SCOPE_RULES, scopes_allow

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PATHS = [
    "/api/v1/listings",
    "/api/v1/listings/7/schedules",
    "/api/v1/listingsx",
    "/api/v1/bookings/7/cancel",
    "/api/v1/booking-requests/7/accept",
    "/api/v1/providers/me/earnings",
    "/api/v1/payments/methods",
    "/api/v1/auth/api-keys",
    "/api/v1/ws/availability",
    "/api/v1/listings/../bookings",
    "/listings",
]


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        ({"listings:read"}, "GET", "/api/v1/listings/7", True),
        ({"listings:read"}, "HEAD", "/api/v1/listings", True),
        ({"listings:read"}, "POST", "/api/v1/listings", False),
        ({"listings:write"}, "PATCH", "/api/v1/listings/7/slots/9", True),
        ({"listings:write"}, "GET", "/api/v1/listings/7", False),
        ({"listings:read"}, "GET", "/api/v1/listingsx", False),
        ({"bookings:read"}, "GET", "/api/v1/booking-requests", True),
        ({"bookings:write"}, "POST", "/api/v1/booking-requests/7/decline", True),
        ({"bookings:read"}, "GET", "/api/v1/carts/7", False),
        ({"earnings:read"}, "GET", "/api/v1/providers/me/earnings", True),
        ({"earnings:read"}, "GET", "/api/v1/payments/methods", False),
        ({"listings:read"}, "GET", "/api/v1/ws/availability", True),
        ({"listings:read"}, "GET", "/api/v1/listings/../bookings", False),
        ({"listings:read"}, "GET", "/api/v1/listings/./7", False),
        (set(SCOPE_RULES), "GET", "/api/v1/auth/me", False),
        (set(SCOPE_RULES), "POST", "/api/v1/auth/api-keys", False),
        (set(SCOPE_RULES), "GET", "/listings", False),
    ],
)
def test_a_scope_covers_its_methods_on_its_paths_only(scopes: set[str], method: str, path: str, allowed: bool) -> None:
    assert scopes_allow(scopes, method, path) is allowed


@given(st.sets(st.sampled_from(sorted(SCOPE_RULES))), st.sets(st.sampled_from(sorted(SCOPE_RULES))))
def test_more_scopes_never_allow_less(scopes: set[str], more: set[str]) -> None:
    for method in METHODS:
        for path in PATHS:
            if scopes_allow(scopes, method, path):
                assert scopes_allow(scopes | more, method, path)


@given(st.sampled_from(METHODS), st.sampled_from(PATHS))
def test_no_scope_allows_nothing_and_unknown_scopes_allow_nothing(method: str, path: str) -> None:
    assert not scopes_allow(set(), method, path)
    assert not scopes_allow({"admin", "*", "listings"}, method, path)
