"""An index for the completion job: confirmed bookings by the end of their slot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_booking_confirmed_ends_at",
        "booking",
        ["ends_at"],
        unique=False,
        postgresql_where=sa.text("status = 'confirmed'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_booking_confirmed_ends_at", table_name="booking", postgresql_where=sa.text("status = 'confirmed'")
    )
