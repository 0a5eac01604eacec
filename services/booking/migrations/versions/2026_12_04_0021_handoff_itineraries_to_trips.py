"""An expert plans a handoff's trip, not a free-form itinerary: each handoff with itinerary
entries gets a trip whose items they become (the expert's, approved when the handoff was),
then the itinerary columns go.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

trip = sa.table(
    "trip",
    sa.column("id", sa.Uuid()),
    sa.column("traveler_id", sa.Uuid()),
    sa.column("traveler_email", sa.String()),
    sa.column("title", sa.String()),
    sa.column("destinations", postgresql.JSONB()),
    sa.column("start_date", sa.Date()),
    sa.column("end_date", sa.Date()),
    sa.column("travelers", sa.Integer()),
    sa.column("timezone", sa.String()),
    sa.column("status", sa.String()),
    sa.column("share_shows_prices", sa.Boolean()),
    sa.column("calendar_token_version", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
trip_item = sa.table(
    "trip_item",
    sa.column("id", sa.Uuid()),
    sa.column("trip_id", sa.Uuid()),
    sa.column("day", sa.Integer()),
    sa.column("position", sa.Integer()),
    sa.column("type", sa.String()),
    sa.column("title", sa.String()),
    sa.column("start_time", sa.Time()),
    sa.column("notes", sa.Text()),
    sa.column("price_is_estimate", sa.Boolean()),
    sa.column("booking_mode", sa.String()),
    sa.column("listing_id", sa.Uuid()),
    sa.column("handoff_id", sa.Uuid()),
    sa.column("booking_status", sa.String()),
    sa.column("added_by", sa.String()),
    sa.column("expert_id", sa.Uuid()),
    sa.column("approved_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
# A handoff the expert is still on, or whose plan awaits the traveler: its trip is under review.
OPEN = ("requested", "accepted", "completed")


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def upgrade() -> None:
    bind = op.get_bind()
    handoffs = bind.execute(
        sa.text(
            "SELECT id, traveler_id, traveler_email, expert_id, description, start_date, end_date, status,"
            " approved_at, requested_at, itinerary_updated_at, itinerary FROM expert_handoff"
            " WHERE trip_id IS NULL AND jsonb_array_length(itinerary) > 0"
        )
    ).mappings()
    for handoff in handoffs.all():
        _move(bind, handoff)
    op.drop_column("expert_handoff", "itinerary")
    op.drop_column("expert_handoff", "itinerary_updated_at")


def _move(bind: sa.Connection, handoff: sa.RowMapping) -> None:
    """The handoff's trip, spanning its dates and every dated entry, with an item per entry on
    its day (an undated one on the first), in the itinerary's order."""
    entries: list[dict[str, Any]] = handoff["itinerary"]
    dated = [day for day in (_date(entry.get("date")) for entry in entries) if day is not None]
    requested: datetime = handoff["requested_at"]
    start = min([day for day in (handoff["start_date"], *dated) if day is not None], default=requested.date())
    end = max([day for day in (handoff["end_date"], *dated, start) if day is not None])
    at: datetime = handoff["itinerary_updated_at"] or requested
    trip_id = uuid.uuid4()
    bind.execute(
        trip.insert().values(
            id=trip_id,
            traveler_id=handoff["traveler_id"],
            traveler_email=handoff["traveler_email"],
            title=str(handoff["description"]).strip().splitlines()[0][:200] or "Trip",
            destinations=[],
            start_date=start,
            end_date=end,
            travelers=1,
            timezone="UTC",
            status="expert_review" if handoff["status"] in OPEN else "draft",
            share_shows_prices=True,
            calendar_token_version=1,
            created_at=at,
            updated_at=at,
        )
    )
    for position, entry in enumerate(entries):
        day = _date(entry.get("date"))
        start_time = entry.get("start_time")
        listing_id = entry.get("listing_id")
        bind.execute(
            trip_item.insert().values(
                id=uuid.uuid4(),
                trip_id=trip_id,
                day=(day - start).days + 1 if day is not None else 1,
                position=position,
                type="other",
                title=str(entry.get("title") or "Untitled")[:200],
                start_time=time.fromisoformat(start_time) if isinstance(start_time, str) else None,
                notes=entry.get("notes"),
                price_is_estimate=True,
                booking_mode="expert",
                listing_id=uuid.UUID(listing_id) if isinstance(listing_id, str) else None,
                handoff_id=handoff["id"],
                booking_status="unbooked",
                added_by="expert",
                expert_id=handoff["expert_id"],
                approved_at=handoff["approved_at"],
                created_at=at,
                updated_at=at,
            )
        )
    bind.execute(
        sa.text("UPDATE expert_handoff SET trip_id = :trip_id WHERE id = :id"),
        {"trip_id": trip_id, "id": handoff["id"]},
    )


def downgrade() -> None:
    """The columns come back empty: the plans stay on the trips they moved to."""
    op.add_column(
        "expert_handoff",
        sa.Column("itinerary", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    )
    op.add_column("expert_handoff", sa.Column("itinerary_updated_at", sa.DateTime(timezone=True), nullable=True))
