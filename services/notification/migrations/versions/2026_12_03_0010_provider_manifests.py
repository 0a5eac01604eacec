"""Providers' bookings as their manifests need them, and the manifests written.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_booking",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("listing_title", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("contact_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_provider_booking")),
    )
    op.create_index(
        "ix_provider_booking_upcoming",
        "provider_booking",
        ["starts_at"],
        unique=False,
        postgresql_where=sa.text("status = 'confirmed'"),
    )
    op.create_table(
        "provider_manifest",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("booking_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_manifest")),
        sa.UniqueConstraint(
            "provider_id", "timezone", "local_date", name=op.f("uq_provider_manifest_provider_id_timezone_local_date")
        ),
    )


def downgrade() -> None:
    op.drop_table("provider_manifest")
    op.drop_index("ix_provider_booking_upcoming", table_name="provider_booking")
    op.drop_table("provider_booking")
