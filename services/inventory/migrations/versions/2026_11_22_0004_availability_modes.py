"""Listings switched on and off, open days of calendar listings, and why a slot closed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("listing", sa.Column("on_sale", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("listing", sa.Column("open_days", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("slot", sa.Column("closed_reason", sa.String(length=20), nullable=True))
    op.execute("UPDATE slot SET closed_reason = 'blackout' WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    op.drop_column("slot", "closed_reason")
    op.drop_column("listing", "open_days")
    op.drop_column("listing", "on_sale")
