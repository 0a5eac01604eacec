"""Who a person is to the platform, as every app sees them once their token is checked
(`shared.auth`). Free of any web framework, so pure rules take an `Identity` too."""

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

Role = Literal["traveler", "provider", "expert", "admin"]
ROLES: tuple[Role, ...] = ("traveler", "provider", "expert", "admin")


@dataclass(frozen=True)
class Identity:
    user_id: UUID
    email: str
    roles: tuple[str, ...]

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
