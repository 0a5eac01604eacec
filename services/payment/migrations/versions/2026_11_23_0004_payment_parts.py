"""A payment's parts (each booking's share of a cart's one payment), and the booking a refund
is for.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
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
    op.add_column("payment", sa.Column("parts", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("stripe_command", sa.Column("booking_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("stripe_command", "booking_id")
    op.drop_column("payment", "parts")
