"""Reports' read models: the listings they name, slots' occupancy (with each seat sale and return
counted once), and bookings' outcomes with their day rollup.

They start empty and fill from the topics: their consumers (analytics.outcomes,
analytics.occupancy) are new consumer groups, which read booking's and inventory's topics from
the first offset the broker still holds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_outcome",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("listing_id", sa.Uuid(), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_outcome")),
    )
    op.create_table(
        "booking_outcome_day",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("open", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("no_shows", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cancelled_by_traveler", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unpaid_balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cancelled_by_provider", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("blackouts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_outcome_day")),
    )
    op.create_index(
        "ix_booking_outcome_day_listing_id_service_date",
        "booking_outcome_day",
        ["listing_id", "service_date"],
        unique=False,
    )
    op.create_index(
        "ix_booking_outcome_day_provider_id_service_date",
        "booking_outcome_day",
        ["provider_id", "service_date"],
        unique=False,
    )
    op.create_index(
        "uq_booking_outcome_day_key", "booking_outcome_day", ["service_date", "provider_id", "listing_id"], unique=True
    )
    op.create_table(
        "listing_dimension",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_listing_dimension")),
    )
    op.create_index(op.f("ix_listing_dimension_provider_id"), "listing_dimension", ["provider_id"], unique=False)
    op.create_table(
        "seat_change",
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", "change", name=op.f("pk_seat_change")),
    )
    op.create_table(
        "slot_occupancy",
        sa.Column("slot_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("capacity_per_day", sa.Boolean(), nullable=True),
        sa.Column("capacity_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seats_sold", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_slot_occupancy")),
    )
    op.create_index(
        "ix_slot_occupancy_listing_id_local_date", "slot_occupancy", ["listing_id", "local_date"], unique=False
    )
    op.create_index(
        "ix_slot_occupancy_local_date_starts_at", "slot_occupancy", ["local_date", "starts_at", "slot_id"], unique=False
    )
    # Popular listings read a few listings' days of revenue.
    op.create_index("ix_revenue_day_listing_id_day", "revenue_day", ["listing_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_revenue_day_listing_id_day", table_name="revenue_day")
    op.drop_index("ix_slot_occupancy_local_date_starts_at", table_name="slot_occupancy")
    op.drop_index("ix_slot_occupancy_listing_id_local_date", table_name="slot_occupancy")
    op.drop_table("slot_occupancy")
    op.drop_table("seat_change")
    op.drop_index(op.f("ix_listing_dimension_provider_id"), table_name="listing_dimension")
    op.drop_table("listing_dimension")
    op.drop_index("uq_booking_outcome_day_key", table_name="booking_outcome_day")
    op.drop_index("ix_booking_outcome_day_provider_id_service_date", table_name="booking_outcome_day")
    op.drop_index("ix_booking_outcome_day_listing_id_service_date", table_name="booking_outcome_day")
    op.drop_table("booking_outcome_day")
    op.drop_table("booking_outcome")
