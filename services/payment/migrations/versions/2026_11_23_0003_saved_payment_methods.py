"""Saved payment methods: travelers' Stripe Customers and their cards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_customer",
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("traveler_id", name=op.f("pk_payment_customer")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_payment_customer_stripe_customer_id")),
    )
    op.create_table(
        "saved_payment_method",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_payment_method_id", sa.String(length=100), nullable=False),
        sa.Column("brand", sa.String(length=20), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_payment_method")),
        sa.UniqueConstraint("stripe_payment_method_id", name=op.f("uq_saved_payment_method_stripe_payment_method_id")),
    )
    op.create_index(op.f("ix_saved_payment_method_traveler_id"), "saved_payment_method", ["traveler_id"], unique=False)
    op.create_index(
        "uq_saved_payment_method_traveler_id",
        "saved_payment_method",
        ["traveler_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("uq_saved_payment_method_traveler_id", table_name="saved_payment_method")
    op.drop_index(op.f("ix_saved_payment_method_traveler_id"), table_name="saved_payment_method")
    op.drop_table("saved_payment_method")
    op.drop_table("payment_customer")
