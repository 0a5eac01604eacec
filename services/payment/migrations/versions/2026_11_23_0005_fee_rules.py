"""Platform fee rules, with the seeded defaults: 15% everywhere, 7.5% on accommodation, 15% on
activities, 5% on meals and 10% on transport.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fee_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("percentage", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("fixed_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("min_fee", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("max_fee", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("scope IN ('global', 'category', 'provider')", name=op.f("ck_fee_rule_scope_known")),
        sa.CheckConstraint(
            "(scope = 'global' AND category IS NULL AND provider_id IS NULL)"
            " OR (scope = 'category' AND category IS NOT NULL AND provider_id IS NULL)"
            " OR (scope = 'provider' AND provider_id IS NOT NULL AND category IS NULL)",
            name=op.f("ck_fee_rule_target_fits_scope"),
        ),
        sa.CheckConstraint(
            "(percentage IS NULL) <> (fixed_amount IS NULL)", name=op.f("ck_fee_rule_percentage_or_fixed_amount")
        ),
        sa.CheckConstraint("percentage >= 0 AND percentage <= 100", name=op.f("ck_fee_rule_percentage_in_range")),
        sa.CheckConstraint(
            "fixed_amount >= 0 AND min_fee >= 0 AND max_fee >= 0 AND min_fee <= max_fee",
            name=op.f("ck_fee_rule_amounts_in_order"),
        ),
        sa.CheckConstraint(
            "(currency IS NULL) = (fixed_amount IS NULL AND min_fee IS NULL AND max_fee IS NULL)",
            name=op.f("ck_fee_rule_money_has_currency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rule")),
    )
    op.create_index(op.f("ix_fee_rule_provider_id"), "fee_rule", ["provider_id"], unique=False)
    op.execute(
        "INSERT INTO fee_rule (id, scope, category, percentage, priority, active) VALUES"
        " (gen_random_uuid(), 'global', NULL, 15, 0, true),"
        " (gen_random_uuid(), 'category', 'accommodation', 7.5, 0, true),"
        " (gen_random_uuid(), 'category', 'activity', 15, 0, true),"
        " (gen_random_uuid(), 'category', 'meal', 5, 0, true),"
        " (gen_random_uuid(), 'category', 'transport', 10, 0, true)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_fee_rule_provider_id"), table_name="fee_rule")
    op.drop_table("fee_rule")
