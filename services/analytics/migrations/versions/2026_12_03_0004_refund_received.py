"""Refunds kept as rows of their own, so a refund that arrives before its booking's
confirmation is counted once the confirmation comes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refund_received",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_received")),
    )
    op.create_index(op.f("ix_refund_received_booking_id"), "refund_received", ["booking_id"], unique=False)
    op.execute(
        "INSERT INTO refund_received (booking_id, amount, currency)"
        " SELECT booking_id, refunded, currency FROM booking_revenue WHERE refunded <> 0"
    )
    op.drop_column("booking_revenue", "refunded")


def downgrade() -> None:
    op.add_column(
        "booking_revenue",
        sa.Column("refunded", sa.Numeric(precision=15, scale=3), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE booking_revenue SET refunded = sums.amount FROM"
        " (SELECT booking_id, sum(amount) AS amount FROM refund_received GROUP BY booking_id) AS sums"
        " WHERE sums.booking_id = booking_revenue.booking_id"
    )
    op.alter_column("booking_revenue", "refunded", server_default=None)
    op.drop_index(op.f("ix_refund_received_booking_id"), table_name="refund_received")
    op.drop_table("refund_received")
