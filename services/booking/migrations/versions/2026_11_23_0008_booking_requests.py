"""Booking requests (request-to-book).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending_provider', 'countered')")


def upgrade() -> None:
    op.create_table(
        "booking_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("traveler_email", sa.String(length=320), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("provider_email", sa.String(length=320), nullable=True),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("listing_title", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adults", sa.Integer(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("infants", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("price_estimate", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_warning_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alternatives", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("counter_slot_id", sa.Uuid(), nullable=True),
        sa.Column("counter_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counter_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counter_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("counter_message", sa.Text(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_request")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_booking_request_booking_id")),
    )
    op.create_index(op.f("ix_booking_request_traveler_id"), "booking_request", ["traveler_id"], unique=False)
    op.create_index(op.f("ix_booking_request_provider_id"), "booking_request", ["provider_id"], unique=False)
    op.create_index(
        "ix_booking_request_open_expires_at", "booking_request", ["expires_at"], unique=False, postgresql_where=OPEN
    )


def downgrade() -> None:
    op.drop_index("ix_booking_request_open_expires_at", table_name="booking_request", postgresql_where=OPEN)
    op.drop_index(op.f("ix_booking_request_provider_id"), table_name="booking_request")
    op.drop_index(op.f("ix_booking_request_traveler_id"), table_name="booking_request")
    op.drop_table("booking_request")
