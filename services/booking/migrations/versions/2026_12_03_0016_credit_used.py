"""What of a booking's amount due now the traveler's credit pays.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "booking", sa.Column("credit_used", sa.Numeric(precision=13, scale=3), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("booking", "credit_used")
