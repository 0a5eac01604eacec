"""Trusting an external identity provider: its access tokens, verified with the keys of its
JWKS (cached, fetched again for an unknown key), stand for a local account (see
`service.account_for_external_identity`). Only asymmetric algorithms, and only the one the
JWKS gives the key, are accepted."""

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from gateway.identity.tokens import invalid_token
from shared.auth import JwksCache

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True)
class ExternalClaims:
    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    token_id: str | None
    expires_at: datetime


class ExternalIdentityProvider:
    def __init__(self, *, issuer: str, audience: str, jwks_url: str) -> None:
        self.issuer = issuer
        self._audience = audience
        self._jwks = JwksCache(jwks_url)

    async def verify(self, token: str, *, kid: object, now: datetime) -> ExternalClaims:
        jwk = await self._jwks.get(kid) if isinstance(kid, str) else None
        if jwk is None or jwk.algorithm_name not in ASYMMETRIC_ALGORITHMS:
            raise invalid_token()
        try:
            claims = jwt.decode(
                token,
                jwk.key,
                algorithms=[jwk.algorithm_name],
                issuer=self.issuer,
                audience=self._audience,
                # Times are checked against the injected clock, not the library's own.
                options={
                    "require": ["sub", "exp", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
            if expires_at <= now or int(claims.get("nbf", 0)) > now.timestamp():
                raise jwt.ExpiredSignatureError("not valid now")
            email = claims["email"]
            if not isinstance(email, str) or "@" not in email:
                raise jwt.InvalidTokenError("no email")
            return ExternalClaims(
                issuer=self.issuer,
                subject=str(claims["sub"]),
                email=email.lower(),
                email_verified=claims.get("email_verified") is True,
                name=str(claims.get("name") or email)[:200],
                token_id=str(claims["jti"]) if "jti" in claims else None,
                expires_at=expires_at,
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise invalid_token() from None
