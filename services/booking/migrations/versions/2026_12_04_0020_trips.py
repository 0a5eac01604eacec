"""Trips: a traveler's plan day by day, each item linked to how it is booked and to what it
booked; an expert's handoff plans a trip.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trip",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("traveler_email", sa.String(length=320), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("destinations", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("travelers", sa.Integer(), nullable=False),
        sa.Column("experience_type", sa.String(length=50), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("share_token_hash", sa.String(length=64), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("share_shows_prices", sa.Boolean(), nullable=False),
        sa.Column("calendar_token_version", sa.Integer(), nullable=False),
        sa.Column("checkout_cart_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_trip_dates_in_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip")),
        sa.UniqueConstraint("share_token_hash", name=op.f("uq_trip_share_token_hash")),
    )
    op.create_index(op.f("ix_trip_traveler_id"), "trip", ["traveler_id"])
    op.create_table(
        "trip_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trip_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=13, scale=3), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("price_is_estimate", sa.Boolean(), nullable=False),
        sa.Column("booking_mode", sa.String(length=20), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=True),
        sa.Column("slot_id", sa.Uuid(), nullable=True),
        sa.Column("party", postgresql.JSONB(), nullable=True),
        sa.Column("affiliate_partner", sa.String(length=20), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("cart_item_id", sa.Uuid(), nullable=True),
        sa.Column("booking_request_id", sa.Uuid(), nullable=True),
        sa.Column("handoff_id", sa.Uuid(), nullable=True),
        sa.Column("affiliate_links", postgresql.JSONB(), nullable=True),
        sa.Column("booking_status", sa.String(length=30), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(length=10), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("day >= 1", name=op.f("ck_trip_item_day_from_one")),
        sa.CheckConstraint("(price IS NULL) = (currency IS NULL)", name=op.f("ck_trip_item_price_has_currency")),
        sa.ForeignKeyConstraint(["trip_id"], ["trip.id"], name=op.f("fk_trip_item_trip_id_trip"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_item")),
        sa.UniqueConstraint("cart_item_id", name=op.f("uq_trip_item_cart_item_id")),
    )
    op.create_index("ix_trip_item_trip_id_day_position", "trip_item", ["trip_id", "day", "position"])
    op.create_index(op.f("ix_trip_item_booking_id"), "trip_item", ["booking_id"])
    op.create_index(op.f("ix_trip_item_booking_request_id"), "trip_item", ["booking_request_id"])
    op.create_index(op.f("ix_trip_item_handoff_id"), "trip_item", ["handoff_id"])
    op.create_table(
        "provider_calendar",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_provider_calendar")),
    )
    op.add_column("expert_handoff", sa.Column("trip_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_expert_handoff_trip_id_trip"), "expert_handoff", "trip", ["trip_id"], ["id"])
    op.create_index(op.f("ix_expert_handoff_trip_id"), "expert_handoff", ["trip_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_expert_handoff_trip_id"), table_name="expert_handoff")
    op.drop_constraint(op.f("fk_expert_handoff_trip_id_trip"), "expert_handoff", type_="foreignkey")
    op.drop_column("expert_handoff", "trip_id")
    op.drop_table("provider_calendar")
    op.drop_table("trip_item")
    op.drop_table("trip")
