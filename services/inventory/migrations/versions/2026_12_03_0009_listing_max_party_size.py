"""Fair use: the largest party a listing takes in one hold, booking, request or waitlist entry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("listing", sa.Column("max_party_size", sa.Integer(), server_default="20", nullable=False))


def downgrade() -> None:
    op.drop_column("listing", "max_party_size")
