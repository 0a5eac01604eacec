"""How long the gateway waits for a service to answer, by route: the one table of it.

Routes that charge, refund or book through another service (which may call Stripe) wait
longest; reads are quick or something is wrong; everything else gets the default."""

from dataclasses import dataclass
from enum import StrEnum


class Patience(StrEnum):
    READ = "read"
    DEFAULT = "default"
    SLOW = "slow"


ANY_METHOD = "*"

# (method, path below /api/v1 with `*` for one segment and a trailing `**` for any rest) → patience.
# The first match wins; a GET or HEAD matched by none is a read.
ROUTE_PATIENCE: tuple[tuple[str, str, Patience], ...] = (
    ("POST", "/bookings", Patience.SLOW),
    ("PATCH", "/bookings/*", Patience.SLOW),
    ("POST", "/bookings/*/cancel", Patience.SLOW),
    ("POST", "/bookings/*/pay-balance", Patience.SLOW),
    ("POST", "/carts/*/checkout", Patience.SLOW),
    ("POST", "/trips/*/checkout", Patience.SLOW),
    ("POST", "/booking-requests/*/accept-counter", Patience.SLOW),
    ("POST", "/expert-handoffs/*/book-on-behalf", Patience.SLOW),
    (ANY_METHOD, "/payments/**", Patience.SLOW),
    (ANY_METHOD, "/analytics/**", Patience.DEFAULT),
)


def _matches(pattern: str, path: str) -> bool:
    wanted = pattern.strip("/").split("/")
    given = path.strip("/").split("/")
    if wanted[-1] == "**":
        wanted = wanted[:-1]
        given = given[: len(wanted)] if len(given) >= len(wanted) else given
    if len(wanted) != len(given):
        return False
    return all(want in ("*", have) for want, have in zip(wanted, given, strict=True))


def patience_for(method: str, service_path: str) -> Patience:
    for route_method, pattern, patience in ROUTE_PATIENCE:
        if route_method in (ANY_METHOD, method) and _matches(pattern, service_path):
            return patience
    return Patience.READ if method in ("GET", "HEAD") else Patience.DEFAULT


@dataclass(frozen=True)
class RouteTimeouts:
    """Seconds to wait for an answer, by patience (from the settings)."""

    read: float
    default: float
    slow: float

    def for_route(self, method: str, service_path: str) -> float:
        patience = patience_for(method, service_path)
        return {Patience.READ: self.read, Patience.DEFAULT: self.default, Patience.SLOW: self.slow}[patience]
