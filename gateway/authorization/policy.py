"""Which roles may call which public route: the one table the gateway authorizes by.

A route not in the table is not served. Roles are checked here, at the door; whose a thing
is (a traveler's own booking, a provider's own listing) is checked by the service that owns
it, which also checks roles again. Admins may call every route that names a role, as the
services' `require_role` lets them."""

from dataclasses import dataclass

from shared.errors import Forbidden, NotFound, Unauthorized
from shared.identity import Identity, Role


@dataclass(frozen=True)
class Access:
    """Who may call a route: anyone, anyone signed in, or the named roles (and admins)."""

    roles: tuple[Role, ...] = ()
    public: bool = False

    def describe(self) -> str:
        if self.public:
            return "anyone"
        return " or ".join(self.roles) if self.roles else "signed in"


ANYONE = Access(public=True)
SIGNED_IN = Access()


def only(*roles: Role) -> Access:
    return Access(roles=roles)


TRAVELER, PROVIDER, EXPERT, ADMIN = only("traveler"), only("provider"), only("expert"), only("admin")
# A trip's owner, or the expert planning it on its handoff.
PLANNER = only("traveler", "expert")

# (method, path below /api/v1 with {placeholders}, who). Reads a service filters by the caller
# (their bookings, their requests) are SIGNED_IN.
ROUTE_POLICY: tuple[tuple[str, str, Access], ...] = (
    # the gateway's own (its identity routes check the same again)
    ("POST", "/auth/register", ANYONE),
    ("POST", "/auth/verify-email", ANYONE),
    ("POST", "/auth/verify-email/resend", SIGNED_IN),
    ("POST", "/auth/password-reset", ANYONE),
    ("POST", "/auth/password-reset/confirm", ANYONE),
    ("POST", "/auth/password", SIGNED_IN),
    ("POST", "/auth/token", ANYONE),
    ("POST", "/auth/refresh", ANYONE),
    ("GET", "/auth/jwks", ANYONE),
    ("POST", "/auth/logout", SIGNED_IN),
    ("GET", "/auth/me", SIGNED_IN),
    ("GET", "/auth/api-keys", PROVIDER),
    ("POST", "/auth/api-keys", PROVIDER),
    ("DELETE", "/auth/api-keys/{key_id}", PROVIDER),
    ("POST", "/auth/accounts/republish", ADMIN),
    ("GET", "/auth/signing-keys", ADMIN),
    ("POST", "/auth/signing-keys/rotate", ADMIN),
    # inventory
    ("GET", "/listings", ANYONE),
    ("POST", "/listings", PROVIDER),
    ("GET", "/listings/{listing_id}", ANYONE),
    ("PATCH", "/listings/{listing_id}", PROVIDER),
    ("DELETE", "/listings/{listing_id}", PROVIDER),
    ("GET", "/listings/{listing_id}/quote", ANYONE),
    ("GET", "/listings/{listing_id}/availability", ANYONE),
    ("GET", "/listings/{listing_id}/open-slots", ANYONE),
    ("GET", "/listings/{listing_id}/calendar", ANYONE),
    ("GET", "/listings/{listing_id}/schedules", PROVIDER),
    ("POST", "/listings/{listing_id}/schedules", PROVIDER),
    ("PATCH", "/listings/{listing_id}/schedules/{schedule_id}", PROVIDER),
    ("GET", "/listings/{listing_id}/slots/{slot_id}", PROVIDER),
    ("PATCH", "/listings/{listing_id}/slots/{slot_id}", PROVIDER),
    ("GET", "/listings/{listing_id}/days/{day}", PROVIDER),
    ("PATCH", "/listings/{listing_id}/days/{day}", PROVIDER),
    ("GET", "/listings/{listing_id}/blackouts", PROVIDER),
    ("POST", "/listings/{listing_id}/blackouts", PROVIDER),
    ("DELETE", "/listings/{listing_id}/blackouts/{blackout_id}", PROVIDER),
    ("GET", "/admin/blackouts", ADMIN),
    ("POST", "/admin/blackouts", ADMIN),
    ("DELETE", "/admin/blackouts/{blackout_id}", ADMIN),
    ("POST", "/holds", TRAVELER),
    ("GET", "/holds/{hold_id}", TRAVELER),
    ("DELETE", "/holds/{hold_id}", TRAVELER),
    ("POST", "/holds/{hold_id}/extend", TRAVELER),
    ("GET", "/ws/availability", ANYONE),
    # booking
    ("POST", "/bookings", TRAVELER),
    ("GET", "/bookings", SIGNED_IN),
    ("GET", "/bookings/reference/{reference}", SIGNED_IN),
    ("GET", "/bookings/{booking_id}", SIGNED_IN),
    ("PATCH", "/bookings/{booking_id}", SIGNED_IN),
    ("GET", "/bookings/{booking_id}/history", SIGNED_IN),
    ("GET", "/bookings/{booking_id}/modifications", SIGNED_IN),
    ("POST", "/bookings/{booking_id}/cancel", SIGNED_IN),
    ("POST", "/bookings/{booking_id}/no-show", PROVIDER),
    ("POST", "/bookings/{booking_id}/pay-balance", TRAVELER),
    ("POST", "/carts", TRAVELER),
    ("GET", "/carts/{cart_id}", TRAVELER),
    ("POST", "/carts/{cart_id}/items", TRAVELER),
    ("DELETE", "/carts/{cart_id}/items/{item_id}", TRAVELER),
    ("POST", "/carts/{cart_id}/checkout", TRAVELER),
    ("POST", "/booking-requests", TRAVELER),
    ("GET", "/booking-requests", SIGNED_IN),
    ("GET", "/booking-requests/{request_id}", SIGNED_IN),
    ("POST", "/booking-requests/{request_id}/accept", PROVIDER),
    ("POST", "/booking-requests/{request_id}/decline", PROVIDER),
    ("POST", "/booking-requests/{request_id}/counter-offer", PROVIDER),
    ("POST", "/booking-requests/{request_id}/accept-counter", TRAVELER),
    ("POST", "/booking-requests/{request_id}/cancel", TRAVELER),
    ("POST", "/waitlist", TRAVELER),
    ("GET", "/waitlist/me", TRAVELER),
    ("GET", "/admin/waitlist", ADMIN),
    ("PATCH", "/admin/waitlist/{entry_id}", ADMIN),
    ("POST", "/expert-handoffs", TRAVELER),
    ("GET", "/expert-handoffs", SIGNED_IN),
    ("GET", "/expert-handoffs/{handoff_id}", SIGNED_IN),
    ("POST", "/expert-handoffs/{handoff_id}/accept", EXPERT),
    ("POST", "/expert-handoffs/{handoff_id}/decline", EXPERT),
    ("POST", "/expert-handoffs/{handoff_id}/complete", EXPERT),
    ("POST", "/expert-handoffs/{handoff_id}/book-on-behalf", EXPERT),
    ("POST", "/expert-handoffs/{handoff_id}/approve", TRAVELER),
    ("POST", "/expert-handoffs/{handoff_id}/cancel", SIGNED_IN),
    # trips: the owner's, and (its items) the expert's on the trip's handoff
    ("POST", "/trips", TRAVELER),
    ("GET", "/trips", TRAVELER),
    ("GET", "/trips/{trip_id}", PLANNER),
    ("PATCH", "/trips/{trip_id}", TRAVELER),
    ("DELETE", "/trips/{trip_id}", TRAVELER),
    ("POST", "/trips/{trip_id}/items", PLANNER),
    ("PATCH", "/trips/{trip_id}/items/{item_id}", PLANNER),
    ("DELETE", "/trips/{trip_id}/items/{item_id}", PLANNER),
    ("POST", "/trips/{trip_id}/checkout", TRAVELER),
    ("POST", "/expert-grants", TRAVELER),
    ("GET", "/expert-grants", SIGNED_IN),
    ("DELETE", "/expert-grants/{grant_id}", TRAVELER),
    ("GET", "/admin/experts/{expert_id}", ADMIN),
    ("PUT", "/admin/experts/{expert_id}", ADMIN),
    ("GET", "/affiliate/links", ANYONE),
    ("GET", "/r/{code}", ANYONE),
    ("POST", "/trips/{trip_id}/share", TRAVELER),
    ("DELETE", "/trips/{trip_id}/share", TRAVELER),
    ("GET", "/trips/{trip_id}/calendar", TRAVELER),
    ("POST", "/trips/{trip_id}/calendar/rotate", TRAVELER),
    ("GET", "/providers/me/calendar", PROVIDER),
    ("POST", "/providers/me/calendar/rotate", PROVIDER),
    # a share link's or a calendar feed's token says which trip or whose bookings it shows
    ("GET", "/shared/trips/{token}", ANYONE),
    ("GET", "/trips/{trip_id}/calendar.ics", ANYONE),
    ("GET", "/providers/me/calendar.ics", ANYONE),
    ("POST", "/webhooks/subscriptions", PROVIDER),
    ("GET", "/webhooks/subscriptions", PROVIDER),
    ("DELETE", "/webhooks/subscriptions/{subscription_id}", PROVIDER),
    ("GET", "/webhooks/subscriptions/{subscription_id}/deliveries", PROVIDER),
    ("POST", "/webhooks/deliveries/{delivery_id}/redeliver", PROVIDER),
    # payment
    ("POST", "/payments/webhooks/stripe", ANYONE),
    ("GET", "/payments/methods", TRAVELER),
    ("POST", "/payments/methods", TRAVELER),
    ("DELETE", "/payments/methods/{method_id}", TRAVELER),
    ("GET", "/fees/quote", ANYONE),
    ("GET", "/admin/fees", ADMIN),
    ("POST", "/admin/fees", ADMIN),
    ("PATCH", "/admin/fees/{rule_id}", ADMIN),
    ("GET", "/admin/reconciliation", ADMIN),
    ("GET", "/providers/me/earnings", PROVIDER),
    ("GET", "/credits", TRAVELER),
    ("GET", "/providers/me/payouts", only("provider", "expert")),
    ("POST", "/providers/me/payouts/onboarding", only("provider", "expert")),
    # notification
    ("GET", "/notifications", SIGNED_IN),
    ("GET", "/notifications/unread-count", SIGNED_IN),
    ("GET", "/notifications/preferences", SIGNED_IN),
    ("PUT", "/notifications/preferences", SIGNED_IN),
    ("POST", "/notifications/read-all", SIGNED_IN),
    ("POST", "/notifications/{notification_id}/read", SIGNED_IN),
    ("GET", "/ws/notifications", SIGNED_IN),
    ("POST", "/admin/notifications/deliveries/{delivery_id}/resend", ADMIN),
    ("POST", "/notifications/webhooks/twilio", ANYONE),
    # an email's unsubscribe link: its signed token says whose email it switches off
    ("GET", "/notifications/unsubscribe", ANYONE),
    ("POST", "/notifications/unsubscribe", ANYONE),
    # analytics
    ("GET", "/analytics/revenue", only("admin", "provider")),
    ("GET", "/analytics/forecast/{listing_id}", only("admin", "provider")),
    ("GET", "/analytics/conversion", ADMIN),
    ("GET", "/analytics/popular", ADMIN),
    ("GET", "/analytics/occupancy", only("admin", "provider")),
    ("GET", "/analytics/cancellations", only("admin", "provider")),
    ("GET", "/analytics/export", ADMIN),
)


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _matches(template: list[str], path: list[str]) -> bool:
    return len(template) == len(path) and all(
        (part.startswith("{") and part.endswith("}")) or part == segment
        for part, segment in zip(template, path, strict=True)
    )


_TEMPLATES = [(method, _segments(template), template, access) for method, template, access in ROUTE_POLICY]


def route_access(method: str, service_path: str) -> tuple[str, Access] | None:
    """The route template a call matches and who may make it; None when no route matches."""
    method = "GET" if method == "HEAD" else method
    path = _segments(service_path)
    # A literal segment beats a placeholder: /bookings/reference/{r} before /bookings/{id}/...
    candidates = [
        (template, access)
        for route_method, segments, template, access in _TEMPLATES
        if route_method == method and _matches(segments, path)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: candidate[0].count("{"))


def authorize(method: str, service_path: str, identity: Identity | None) -> None:
    """Let the call through, or raise what the caller gets instead: 404 for a route that is
    not served, 401 for one that needs a signed-in caller, 403 for one of another role."""
    found = route_access(method, service_path)
    if found is None:
        raise NotFound(f"No route for {method} {service_path}")
    _, access = found
    if access.public:
        return
    if identity is None:
        raise Unauthorized("Sign in to do this.")
    if access.roles and not identity.is_admin and not any(identity.has_role(role) for role in access.roles):
        raise Forbidden(f"This needs the {access.describe()} role.")
