"""Revenue of confirmed bookings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_revenue",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gmv", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("platform_fee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_revenue")),
    )
    op.create_index(op.f("ix_booking_revenue_confirmed_at"), "booking_revenue", ["confirmed_at"], unique=False)
    op.create_index(op.f("ix_booking_revenue_provider_id"), "booking_revenue", ["provider_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_booking_revenue_provider_id"), table_name="booking_revenue")
    op.drop_index(op.f("ix_booking_revenue_confirmed_at"), table_name="booking_revenue")
    op.drop_table("booking_revenue")
