"""Which proxied routes anyone may call; every other route needs a signed-in caller.
Roles and ownership are checked again by the service that owns the resource."""

PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/listings"),
    ("GET", "/ws/availability"),
    ("GET", "/affiliate"),
    ("GET", "/r"),
    ("GET", "/fees/quote"),
    ("POST", "/payments/webhooks/stripe"),
)


def is_public(method: str, service_path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    return any(
        method == public_method and (service_path == prefix or service_path.startswith(prefix + "/"))
        for public_method, prefix in PUBLIC_ROUTES
    )
