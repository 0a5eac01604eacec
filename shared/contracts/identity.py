"""Events of identity, published by the gateway on gateway.events keyed by the account's id.

Most ask notification to write to an account's owner; `identity.account_changed` tells it who
the account is, so it can reach any account (a provider, an expert, an admin) by its id.

The verification and reset tokens travel in the events because the gateway alone can mint
them and notification alone sends email: the gateway keeps only their hashes, each is one-time
and short-lived, and a newer one supersedes it.

Readers ignore fields they do not know, so the gateway may add an optional field without a new
version; anything else is a new version registered beside the old one (see the README).
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime

from shared.events.envelope import EventPayload, register_event


class IdentityEvent(EventPayload):
    user_id: UUID
    email: str
    name: str


@register_event("identity.email_verification_requested", version=1)
class EmailVerificationRequested(IdentityEvent):
    """A new account (or its owner asking again): the link that proves the address is theirs."""

    token: str
    expires_at: datetime


@register_event("identity.registration_attempted", version=1)
class RegistrationAttempted(IdentityEvent):
    """Someone tried to register with the address of an existing account: its owner is told,
    instead of the one who tried being told that the address is taken."""

    attempted_at: datetime


@register_event("identity.password_reset_requested", version=1)
class PasswordResetRequested(IdentityEvent):
    token: str
    expires_at: datetime


@register_event("identity.password_changed", version=1)
class PasswordChanged(IdentityEvent):
    """The password was changed by its owner (`change`) or with an emailed token (`reset`);
    every other session was ended."""

    how: Literal["change", "reset"]
    changed_at: datetime


@register_event("identity.account_changed", version=1)
class AccountChanged(IdentityEvent):
    """An account as it is now: written when it is created and whenever one of these facts
    changes (and again, unchanged, when the gateway republishes its accounts). A reader keeps
    the one with the newest `changed_at`: events may arrive late, twice or out of order."""

    roles: list[str]
    # A BCP 47 tag ("en", "pt-PT"): the language to write to the owner in.
    locale: str
    email_verified: bool
    changed_at: AwareDatetime
