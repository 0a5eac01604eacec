"""What the gateway's tests share besides real servers (shared/tests/servers.py)."""

import secrets


def client_address() -> str:
    """An address of the test's own, so per-address rate limits of other tests do not meet it."""
    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))
