"""Which routes are limited how: the one table of rate classes.

Every request under /api/v1 (a WebSocket handshake counts as a GET) falls in exactly one
class. A class allows `per_ip` requests per client address and, for a signed-in caller, also
`per_user` requests per user, in each `window_seconds`; a request goes ahead only if both
allow it. Sign-in, registration and refresh are anonymous and strict, per address: they are
what password guessing and account farming hit. Seat holds and bookings are moderate. Reads
are generous. Share links and calendar feeds, read by whoever holds their token, are strict
per address, against token guessing. Everything else gets the default."""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RateClassName = Literal["login", "register", "refresh", "booking", "shared_link", "read", "default"]

PUBLIC_PREFIX = "/api/v1"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    per_ip: int = Field(gt=0)
    per_user: int | None = Field(default=None, gt=0)
    window_seconds: int = Field(default=60, gt=0)

    def scaled(self, factor: float) -> "RateLimit":
        return RateLimit(
            per_ip=max(round(self.per_ip * factor), 1),
            per_user=None if self.per_user is None else max(round(self.per_user * factor), 1),
            window_seconds=self.window_seconds,
        )


# The limits of every class; `login` takes its per-address limit and window from the
# settings' `token_rate_limit` and `token_rate_window_seconds`.
DEFAULT_LIMITS: dict[RateClassName, RateLimit] = {
    "login": RateLimit(per_ip=10),
    "register": RateLimit(per_ip=10),
    # Every signed-in device refreshes every quarter hour, so an address many share needs more.
    "refresh": RateLimit(per_ip=30),
    "booking": RateLimit(per_ip=120, per_user=30),
    # A calendar app fetches a feed every so often, and a shared trip is read by a few people:
    # a handful a minute is plenty, and nowhere near enough to guess a token.
    "shared_link": RateLimit(per_ip=30),
    "read": RateLimit(per_ip=1200, per_user=600),
    "default": RateLimit(per_ip=300, per_user=120),
}

# What happens when Redis cannot be reached: these classes are refused (503), the rest go
# ahead uncounted. An attacker who can take Redis down must not get unlimited password
# guesses or sign-ups; a traveler must not lose reads and bookings because the limiter's
# store is away (the services behind have their own dependencies and answer for them).
FAIL_CLOSED: frozenset[RateClassName] = frozenset({"login", "register", "refresh"})

# (methods, path prefix under /api/v1, class): the first match wins, on whole path segments; a
# `{placeholder}` segment matches any one segment.
ROUTES: tuple[tuple[frozenset[str], str, RateClassName], ...] = (
    (frozenset({"POST"}), "/auth/token", "login"),
    (frozenset({"POST"}), "/auth/register", "register"),
    (frozenset({"POST"}), "/auth/verify-email", "login"),
    (frozenset({"POST"}), "/auth/password-reset", "login"),
    (frozenset({"POST"}), "/auth/refresh", "refresh"),
    (_WRITE_METHODS, "/holds", "booking"),
    (_WRITE_METHODS, "/bookings", "booking"),
    (_WRITE_METHODS, "/carts", "booking"),
    (frozenset({"POST"}), "/trips/{trip_id}/checkout", "booking"),
    (_WRITE_METHODS, "/booking-requests", "booking"),
    (_READ_METHODS, "/shared/trips", "shared_link"),
    (_READ_METHODS, "/trips/{trip_id}/calendar.ics", "shared_link"),
    (_READ_METHODS, "/providers/me/calendar.ics", "shared_link"),
    (_READ_METHODS, "", "read"),
)


@dataclass(frozen=True)
class RateClass:
    name: RateClassName
    limit: RateLimit
    fails_open: bool


def is_limited(path: str) -> bool:
    return path == PUBLIC_PREFIX or path.startswith(PUBLIC_PREFIX + "/")


def class_name_of(method: str, path: str) -> RateClassName:
    """The class of a request to `path` (under /api/v1)."""
    below = path[len(PUBLIC_PREFIX) :].split("/")
    for methods, prefix, name in _ROUTE_SEGMENTS:
        if method in methods and _starts_with(below, prefix):
            return name
    return "default"


_ROUTE_SEGMENTS = tuple((methods, prefix.split("/"), name) for methods, prefix, name in ROUTES)


def _starts_with(path: list[str], prefix: list[str]) -> bool:
    return len(path) >= len(prefix) and all(
        part == segment or (part.startswith("{") and part.endswith("}"))
        for part, segment in zip(prefix, path, strict=False)
    )


def rate_classes(
    *, login: RateLimit, overrides: dict[RateClassName, RateLimit], scale: float
) -> dict[RateClassName, RateClass]:
    """The classes with their limits: the defaults, sign-in's from the settings, then the
    settings' overrides, every limit times `scale`."""
    limits = DEFAULT_LIMITS | {"login": login} | overrides
    return {
        name: RateClass(name=name, limit=limit.scaled(scale), fails_open=name not in FAIL_CLOSED)
        for name, limit in limits.items()
    }
