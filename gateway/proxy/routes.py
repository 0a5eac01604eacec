"""Which service owns which public path: the one table the gateway routes by (api.md)."""

from dataclasses import dataclass

PUBLIC_PREFIX = "/api/v1"

# Public path prefix (below /api/v1) → owning service. The longest matching prefix wins.
OWNERS: dict[str, str] = {
    "/listings": "inventory",
    "/holds": "inventory",
    "/ws/availability": "inventory",
    "/admin/blackouts": "inventory",
    "/bookings": "booking",
    "/carts": "booking",
    "/booking-requests": "booking",
    "/waitlist": "booking",
    "/admin/waitlist": "booking",
    "/expert-handoffs": "booking",
    "/expert-grants": "booking",
    "/admin/experts": "booking",
    "/affiliate": "booking",
    "/r": "booking",
    "/trips": "booking",
    "/shared/trips": "booking",
    "/providers/me/calendar": "booking",
    "/providers/me/calendar.ics": "booking",
    "/webhooks": "booking",
    "/payments": "payment",
    "/providers/me/payouts": "payment",
    "/providers/me/earnings": "payment",
    "/admin/fees": "payment",
    "/admin/reconciliation": "payment",
    "/fees": "payment",
    "/credits": "payment",
    "/notifications": "notification",
    "/ws/notifications": "notification",
    "/admin/notifications": "notification",
    "/analytics": "analytics",
}

_BY_LONGEST_PREFIX = sorted(OWNERS.items(), key=lambda item: len(item[0]), reverse=True)


@dataclass(frozen=True)
class Upstream:
    service: str
    path: str


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def owner_of(public_path: str) -> Upstream | None:
    """The service that owns `public_path` (starting with /api/v1) and its path there."""
    if not _under(public_path, PUBLIC_PREFIX):
        return None
    path = public_path[len(PUBLIC_PREFIX) :] or "/"
    for prefix, service in _BY_LONGEST_PREFIX:
        if _under(path, prefix):
            return Upstream(service=service, path=path)
    return None


def is_owned_by(service: str, service_path: str) -> bool:
    """Whether a path a service serves is one the gateway routes to that service."""
    upstream = owner_of(PUBLIC_PREFIX + service_path)
    return upstream is not None and upstream.service == service
