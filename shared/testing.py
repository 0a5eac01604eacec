"""Helpers for the tests of every app (imported by tests only)."""

import uuid
from datetime import UTC, datetime, timedelta

from shared.auth import INTERNAL_IDENTITY_HEADER, Identity, Role, sign_internal_identity


def make_identity(*roles: Role) -> Identity:
    user_id = uuid.uuid4()
    return Identity(
        user_id=user_id, email=f"{roles[0] if roles else 'user'}-{user_id.hex[:8]}@example.com", roles=roles
    )


def identity_headers(identity: Identity, *, secret: str) -> dict[str, str]:
    """An identity header every service accepts for `identity`: a service's token, signed
    with the internal secret (the gateway's own are signed with its key; see shared.auth)."""
    signed = sign_internal_identity(identity, secret=secret, now=datetime.now(UTC), ttl=timedelta(minutes=5))
    return {INTERNAL_IDENTITY_HEADER: signed}
