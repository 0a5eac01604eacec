"""Cancellations: the policy a booking was made under, and what its cancellation gave back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "booking",
        sa.Column(
            "cancellation_policy",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("booking", sa.Column("cancelled_by", sa.String(length=20), nullable=True))
    op.add_column("booking", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("booking", sa.Column("refund_amount", sa.Numeric(precision=12, scale=2), nullable=True))
    op.add_column("booking", sa.Column("credit_amount", sa.Numeric(precision=12, scale=2), nullable=True))


def downgrade() -> None:
    for column in ("credit_amount", "refund_amount", "cancelled_at", "cancelled_by", "cancellation_policy"):
        op.drop_column("booking", column)
