"""A gateway app in this process, on a frozen clock, driven over HTTP, for the identity tests."""

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from gateway.identity.authenticator import Authenticator
from gateway.identity.models import UserAccount
from gateway.main import build_app
from gateway.settings import GatewaySettings
from shared.app import AppResources
from shared.clock import FrozenClock
from shared.events.models import OutboxMessage
from shared.migrations import upgrade_to_head

PASSWORD = "correct horse battery"
ACCOUNT_CHANGED = "identity.account_changed"
ADMIN_EMAIL = "root-admin@example.com"


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: GatewaySettings

    @property
    def authenticator(self) -> Authenticator:
        authenticator: Authenticator = self.app.state.authenticator
        return authenticator

    async def register(self, email: str | None = None, *, role: str = "traveler") -> dict[str, Any]:
        """A new account; the answer does not describe it, so it is read from the database."""
        email = (email or new_email()).lower()
        response = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ana", "role": role}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"status": "verification_sent"}
        user = await self.account(email)
        assert user is not None
        return {"id": str(user.id), "email": user.email, "roles": user.roles}

    async def account(self, email: str) -> UserAccount | None:
        resources: AppResources = self.app.state.resources
        async with resources.session_factory() as session:
            return await session.scalar(select(UserAccount).where(UserAccount.email == email.lower()))

    async def emails_to(self, email: str) -> list[dict[str, Any]]:
        """The identity events the gateway wrote for `email`'s owner, oldest first: what
        notification emails them (the tokens in them are what the emails carry)."""
        resources: AppResources = self.app.state.resources
        async with resources.session_factory() as session:
            envelopes = await session.scalars(
                select(OutboxMessage.envelope)
                .where(
                    OutboxMessage.envelope["payload"]["email"].astext == email.lower(),
                    OutboxMessage.event_type != ACCOUNT_CHANGED,
                )
                .order_by(OutboxMessage.id)
            )
            return [{"type": envelope["type"], **envelope["payload"]} for envelope in envelopes]

    async def account_changes(self, user_id: str) -> list[dict[str, Any]]:
        """The identity.account_changed events the gateway wrote for the account, oldest first."""
        resources: AppResources = self.app.state.resources
        async with resources.session_factory() as session:
            envelopes = await session.scalars(
                select(OutboxMessage.envelope)
                .where(OutboxMessage.event_type == ACCOUNT_CHANGED, OutboxMessage.key == user_id)
                .order_by(OutboxMessage.id)
            )
            return [envelope["payload"] for envelope in envelopes]

    async def emails_of(self, email: str, event_type: str) -> list[dict[str, Any]]:
        return [event for event in await self.emails_to(email) if event["type"] == event_type]

    async def emailed_token(self, email: str, event_type: str) -> str:
        """The token of the latest `event_type` email to `email`."""
        token: str = (await self.emails_of(email, event_type))[-1]["token"]
        return token

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post("/api/v1/auth/token", json={"email": email, "password": password})

    async def tokens(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.sign_in(email, password)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def signed_up(self, *, role: str = "traveler") -> dict[str, str]:
        """The headers of a new account of `role`, signed in."""
        user = await self.register(role=role)
        return bearer((await self.tokens(user["email"]))["access_token"])

    async def admin(self) -> dict[str, str]:
        return bearer((await self.tokens(ADMIN_EMAIL, self.settings.bootstrap_admin_password))["access_token"])

    async def me(self, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get("/api/v1/auth/me", headers=headers)


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def running_gateway(
    database_url: str, redis_url: str, bootstrap_servers: str, *, clock: FrozenClock | None = None, **overrides: Any
) -> AsyncIterator[Gateway]:
    await asyncio.to_thread(upgrade_to_head, Path("gateway/migrations"), database_url=database_url)
    settings = GatewaySettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        **({"bootstrap_admin_email": ADMIN_EMAIL} | overrides),
    )
    clock = clock or FrozenClock(datetime.now(UTC))
    app = build_app(settings, clock=clock)
    # A client address of its own: sign-in attempts are rate limited per address.
    host = f"198.19.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    transport = httpx.ASGITransport(app=app, client=(host, 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
    ):
        yield Gateway(app, client, clock, settings)
