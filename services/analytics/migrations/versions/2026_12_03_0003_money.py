"""Revenue sums hold three decimals, the most a currency has (KWD, BHD).

The digits before the point stay as they were; going down rounds to two decimals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, digits in all): the money columns, each widened by one digit after the point.
MONEY_COLUMNS = (
    ("booking_revenue", "gmv", 15),
    ("booking_revenue", "platform_fee", 15),
    ("booking_revenue", "refunded", 15),
)


def upgrade() -> None:
    for table, column, precision in MONEY_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Numeric(precision=precision, scale=3),
            existing_type=sa.Numeric(precision=precision - 1, scale=2),
        )


def downgrade() -> None:
    for table, column, precision in MONEY_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Numeric(precision=precision - 1, scale=2),
            existing_type=sa.Numeric(precision=precision, scale=3),
        )
