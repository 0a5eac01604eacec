"""When payment received a booking's payment (its event's time), to time the confirmation.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("booking", sa.Column("payment_received_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("booking", "payment_received_at")
