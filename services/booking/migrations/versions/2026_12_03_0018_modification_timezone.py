"""A booking change keeps the listing's zone, to show its new slot's local start and end.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("booking_modification", sa.Column("timezone", sa.String(length=64), nullable=True))
    # A change moves a booking within its listing, so it happens in the booking's zone. A
    # change whose booking is gone has no zone to find: it is shown in UTC.
    op.execute(
        """
        UPDATE booking_modification SET timezone = COALESCE(
            (SELECT booking.timezone FROM booking WHERE booking.id = booking_modification.booking_id), 'UTC'
        )
        """
    )
    op.alter_column("booking_modification", "timezone", nullable=False)


def downgrade() -> None:
    op.drop_column("booking_modification", "timezone")
