"""A payment's listing category and its platform fee (and each cart part's), decided by the fee
rules when the intent is made. Payments made before keep the flat 15 % they were charged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payment", sa.Column("category", sa.String(length=20), nullable=True))
    op.add_column("payment", sa.Column("platform_fee", sa.Numeric(precision=12, scale=2), nullable=True))
    op.execute(
        "UPDATE payment SET parts = ("
        " SELECT jsonb_agg(part || jsonb_build_object("
        "  'platform_fee', round((part ->> 'amount')::numeric * 0.15, 2)::text))"
        " FROM jsonb_array_elements(parts) AS part)"
        " WHERE parts IS NOT NULL"
    )
    op.execute(
        "UPDATE payment SET platform_fee = coalesce("
        " (SELECT sum((part ->> 'platform_fee')::numeric) FROM jsonb_array_elements(parts) AS part),"
        " round(amount * 0.15, 2))"
    )
    op.alter_column("payment", "platform_fee", nullable=False)


def downgrade() -> None:
    op.execute(
        "UPDATE payment SET parts = ("
        " SELECT jsonb_agg(part - 'platform_fee' - 'category') FROM jsonb_array_elements(parts) AS part)"
        " WHERE parts IS NOT NULL"
    )
    op.drop_column("payment", "platform_fee")
    op.drop_column("payment", "category")
