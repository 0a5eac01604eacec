"""Deposit bookings' balances: the amount, when it falls due, its charge attempts, when paid.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_UNPAID = sa.text("balance_paid_at IS NULL AND balance_next_attempt_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("booking", sa.Column("balance_amount", sa.Numeric(precision=12, scale=2), nullable=True))
    op.add_column("booking", sa.Column("balance_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("booking", sa.Column("balance_next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("booking", sa.Column("balance_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("booking", sa.Column("balance_paid_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_booking_balance_next_attempt_at",
        "booking",
        ["balance_next_attempt_at"],
        unique=False,
        postgresql_where=DUE_UNPAID,
    )


def downgrade() -> None:
    op.drop_index("ix_booking_balance_next_attempt_at", table_name="booking", postgresql_where=DUE_UNPAID)
    for column in (
        "balance_paid_at",
        "balance_attempts",
        "balance_next_attempt_at",
        "balance_due_at",
        "balance_amount",
    ):
        op.drop_column("booking", column)
