"""The audit log of bookings: every change recorded with its actor, in the change's own
transaction, and read back as the booking's history."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.domain import check_transition, may_see
from services.booking.bookings.metrics import count_status
from services.booking.bookings.models import Booking
from services.booking.history.models import BookingChange
from services.booking.history.schemas import ActorOut, BookingChangeOut, BookingHistory
from shared.errors import NotFound
from shared.identity import Identity
from shared.requests import client_address


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the address the gateway saw, and the user agent."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, request: Request) -> "Origin":
        return cls(ip=client_address(request), user_agent=(request.headers.get("user-agent") or "")[:300] or None)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, in what part (traveler, provider, expert, admin, system), for whom
    when not for themselves, and from where."""

    role: str
    user_id: UUID | None = None
    origin: Origin = Origin()
    on_behalf_of: UUID | None = None

    @classmethod
    def of(cls, identity: Identity, booking: Booking, *, origin: Origin) -> "Actor":
        if identity.user_id == booking.traveler_id:
            role = "traveler"
        elif identity.user_id == booking.provider_id:
            role = "provider"
        else:
            role = "admin" if identity.is_admin else identity.roles[0]
        return cls(role=role, user_id=identity.user_id, origin=origin)


SYSTEM = Actor(role="system")


def _plain(value: object) -> Any:
    if isinstance(value, Decimal | UUID | datetime):
        return str(value) if not isinstance(value, datetime) else value.isoformat()
    return value


def record_change(
    session: AsyncSession,
    *,
    booking: Booking,
    action: str,
    changes: dict[str, tuple[object, object]],
    actor: Actor,
    at: datetime,
    reason: str | None = None,
) -> None:
    if "status" in changes:
        count_status(session, str(changes["status"][1]))
    session.add(
        BookingChange(
            booking_id=booking.id,
            changed_at=at,
            action=action,
            actor_role=actor.role,
            actor_id=actor.user_id,
            on_behalf_of=actor.on_behalf_of,
            changes={field: {"from": _plain(old), "to": _plain(new)} for field, (old, new) in changes.items()},
            reason=reason,
            ip=actor.origin.ip,
            user_agent=actor.origin.user_agent,
        )
    )


def move(
    session: AsyncSession,
    booking: Booking,
    status: str,
    *,
    actor: Actor,
    at: datetime,
    reason: str | None = None,
    extra: dict[str, tuple[object, object]] | None = None,
) -> None:
    """Move a booking along the table of allowed transitions (409 INVALID_TRANSITION
    otherwise) and record the move, with any other fields it changes."""
    check_transition(booking.status, status)
    changes: dict[str, tuple[object, object]] = {"status": (booking.status, status), **(extra or {})}
    booking.status, booking.status_reason = status, reason
    record_change(session, booking=booking, action=status, changes=changes, actor=actor, at=at, reason=reason)


async def history_of(session: AsyncSession, *, booking_id: UUID, viewer: Identity) -> BookingHistory:
    """The booking's changes, oldest first, for those who may see the booking. Where a change
    came from (address, user agent) is shown to admins and to whoever made it."""
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(booking, viewer):
        raise NotFound("No such booking.")
    changes = await session.scalars(
        select(BookingChange).where(BookingChange.booking_id == booking_id).order_by(BookingChange.id)
    )
    items = []
    for change in changes:
        origin_visible = viewer.is_admin or change.actor_id == viewer.user_id
        items.append(
            BookingChangeOut(
                at=change.changed_at,
                action=change.action,
                actor=ActorOut(id=change.actor_id, role=change.actor_role),
                on_behalf_of=change.on_behalf_of,
                changes=change.changes,
                reason=change.reason,
                ip=change.ip if origin_visible else None,
                user_agent=change.user_agent if origin_visible else None,
            )
        )
    return BookingHistory(booking_id=booking_id, items=items)
