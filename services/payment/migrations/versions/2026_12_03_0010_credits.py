"""Travelers' credits: each traveler's balance per currency (available and reserved), its
history, and on each payment the part paid with credit, its state and what of it was refunded.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_balance",
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("available", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("reserved", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_credit_balance_reserved_not_negative")),
        sa.PrimaryKeyConstraint("traveler_id", "currency", name=op.f("pk_credit_balance")),
    )
    op.create_table(
        "credit_entry",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('granted', 'reserved', 'spent', 'released', 'refunded')", name=op.f("ck_credit_entry_kind_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_entry_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entry")),
    )
    op.create_index("ix_credit_entry_traveler_id_id", "credit_entry", ["traveler_id", "id"])
    op.add_column(
        "payment", sa.Column("credit_amount", sa.Numeric(precision=13, scale=3), nullable=False, server_default="0")
    )
    op.add_column("payment", sa.Column("credit_status", sa.String(length=10), nullable=True))
    op.add_column(
        "payment", sa.Column("credit_refunded", sa.Numeric(precision=13, scale=3), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("payment", "credit_refunded")
    op.drop_column("payment", "credit_status")
    op.drop_column("payment", "credit_amount")
    op.drop_index("ix_credit_entry_traveler_id_id", table_name="credit_entry")
    op.drop_table("credit_entry")
    op.drop_table("credit_balance")
