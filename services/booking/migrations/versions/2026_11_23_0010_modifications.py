"""Booking modifications.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending_payment', 'confirming')")


def upgrade() -> None:
    op.create_table(
        "booking_modification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("old_slot_id", sa.Uuid(), nullable=False),
        sa.Column("old_hold_id", sa.Uuid(), nullable=False),
        sa.Column("old_party", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("old_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("new_slot_id", sa.Uuid(), nullable=False),
        sa.Column("new_hold_id", sa.Uuid(), nullable=False),
        sa.Column("new_party", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("new_seats", sa.Integer(), nullable=False),
        sa.Column("new_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("new_quote", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("new_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("difference", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=100), nullable=True),
        sa.Column("client_secret", sa.String(length=300), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_modification")),
        sa.UniqueConstraint("booking_id", "number", name=op.f("uq_booking_modification_booking_id_number")),
        sa.UniqueConstraint("new_hold_id", name=op.f("uq_booking_modification_new_hold_id")),
    )
    op.create_index(
        "uq_booking_modification_open", "booking_modification", ["booking_id"], unique=True, postgresql_where=OPEN
    )


def downgrade() -> None:
    op.drop_index("uq_booking_modification_open", table_name="booking_modification", postgresql_where=OPEN)
    op.drop_table("booking_modification")
