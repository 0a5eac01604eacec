"""Who a request comes from, and how the gateway vouches for them to the services.

The one seam between identity and the rest of the gateway: the proxy, the rate limiter and
the WebSocket entry point ask it, and never read tokens themselves."""

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import HTTPConnection

from gateway.identity.tokens import identity_from_authorization
from shared.auth import INTERNAL_IDENTITY_HEADER, Identity, sign_internal_identity
from shared.clock import Clock


@dataclass(frozen=True)
class Authenticator:
    jwt_secret: str
    internal_secret: str
    internal_identity_ttl: timedelta
    clock: Clock

    async def identify(self, connection: HTTPConnection) -> Identity | None:
        """The caller's identity; None for an anonymous caller; 401 for a bad credential."""
        return identity_from_authorization(
            connection.headers.get("authorization"), secret=self.jwt_secret, now=self.clock.now()
        )

    def identity_header(self, identity: Identity) -> tuple[str, str]:
        """The header that tells a service who the caller is, signed so no client can forge it."""
        signed = sign_internal_identity(
            identity, secret=self.internal_secret, now=self.clock.now(), ttl=self.internal_identity_ttl
        )
        return INTERNAL_IDENTITY_HEADER, signed
