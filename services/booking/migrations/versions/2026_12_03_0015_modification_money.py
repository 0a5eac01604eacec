"""What each modification charges, refunds and leaves as the balance, and when that falls due.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNTS = ("charge", "refund", "balance")


def upgrade() -> None:
    for column in AMOUNTS:
        op.add_column("booking_modification", sa.Column(column, sa.Numeric(precision=13, scale=3), nullable=True))
    op.add_column("booking_modification", sa.Column("balance_due_at", sa.DateTime(timezone=True), nullable=True))
    # Until now a change charged or refunded its whole difference and left no balance.
    op.execute(
        "UPDATE booking_modification"
        " SET charge = GREATEST(difference, 0), refund = GREATEST(-difference, 0), balance = 0"
    )
    for column in AMOUNTS:
        op.alter_column("booking_modification", column, nullable=False)


def downgrade() -> None:
    for column in ("balance_due_at", *AMOUNTS):
        op.drop_column("booking_modification", column)
