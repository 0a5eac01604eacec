from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from gateway.identity.domain import DEFAULT_LOCALE, LOCALE_MAX_LENGTH, canonical_locale
from gateway.identity.scopes import SCOPE_RULES, Scope

SelfServiceRole = Literal["traveler", "provider", "expert"]
NewPassword = Annotated[str, Field(min_length=10, max_length=200)]
EmailedToken = Annotated[str, Field(min_length=1, max_length=200)]
LocaleTag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=LOCALE_MAX_LENGTH,
        description="A BCP 47 language tag such as `en` or `pt-PT`: the language the account is written to in.",
        examples=["pt-PT"],
    ),
    AfterValidator(canonical_locale),
]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: NewPassword
    name: str = Field(min_length=1, max_length=200)
    role: SelfServiceRole = "traveler"
    locale: LocaleTag = DEFAULT_LOCALE


class Accepted(BaseModel):
    """What an anonymous request about an account answers, whatever the account's state."""

    status: Literal["verification_sent", "reset_sent"]


class Done(BaseModel):
    status: Literal["email_verified", "password_reset", "password_changed"]


class EmailVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: EmailedToken


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: EmailedToken
    new_password: NewPassword


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: NewPassword


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    email_verified: bool
    name: str
    roles: list[str]
    locale: str
    created_at: datetime


class NewApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPE_RULES))


class ApiKeyOut(BaseModel):
    """An API key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime


class NewApiKey(ApiKeyOut):
    key: str = Field(
        description="The key itself: shown this once, never again. Send it as `Authorization: ApiKey <key>`."
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None = None


class Republished(BaseModel):
    republished: int = Field(description="How many accounts were announced again.")


class SigningKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kid: str
    algorithm: str
    created_at: datetime
    superseded_at: datetime | None
    verify_until: datetime | None


class SigningKeyList(BaseModel):
    items: list[SigningKeyOut]
    next_cursor: str | None = None


class JsonWebKeySet(BaseModel):
    keys: list[dict[str, str]]
