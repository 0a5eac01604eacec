from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class ActorOut(BaseModel):
    id: UUID | None
    role: str


class BookingChangeOut(BaseModel):
    at: datetime
    action: str
    actor: ActorOut
    # The traveler the actor acted for (an expert booking on their behalf).
    on_behalf_of: UUID | None = None
    # Each changed field: {"from": old, "to": new}.
    changes: dict[str, Any]
    reason: str | None
    ip: str | None
    user_agent: str | None


class BookingHistory(BaseModel):
    booking_id: UUID
    items: list[BookingChangeOut]
    next_cursor: str | None = None
