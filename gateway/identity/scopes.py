"""What a provider's API key may call: each scope names methods on public path prefixes. A
request with an API key may call a route only if one of the key's scopes covers it; nothing
else (the identity routes included, so a key never makes or lists keys)."""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from gateway.proxy.routes import PUBLIC_PREFIX

Scope = Literal["listings:read", "listings:write", "bookings:read", "bookings:write", "earnings:read"]

_READ = frozenset({"GET", "HEAD"})
_WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ScopeRule:
    methods: frozenset[str]
    # Below /api/v1, matched by whole path segments.
    prefixes: tuple[str, ...]


SCOPE_RULES: dict[Scope, ScopeRule] = {
    "listings:read": ScopeRule(_READ, ("/listings", "/ws/availability")),
    "listings:write": ScopeRule(_WRITE, ("/listings",)),
    "bookings:read": ScopeRule(_READ, ("/bookings", "/booking-requests")),
    "bookings:write": ScopeRule(_WRITE, ("/bookings", "/booking-requests")),
    "earnings:read": ScopeRule(_READ, ("/providers/me/earnings", "/providers/me/payouts")),
}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def scopes_allow(scopes: Collection[str], method: str, public_path: str) -> bool:
    """Whether a key with `scopes` may call `method` on `public_path` (starting with /api/v1)."""
    if not _under(public_path, PUBLIC_PREFIX):
        return False
    path = public_path[len(PUBLIC_PREFIX) :]
    if "/../" in path + "/" or "/./" in path + "/":
        return False
    return any(
        method.upper() in rule.methods and any(_under(path, prefix) for prefix in rule.prefixes)
        for scope, rule in SCOPE_RULES.items()
        if scope in scopes
    )
