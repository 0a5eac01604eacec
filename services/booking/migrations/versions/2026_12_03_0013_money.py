"""Booking amounts hold three decimals, the most a currency has (KWD, BHD).

The digits before the point stay as they were; going down rounds to two decimals.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, digits in all): the money columns, each widened by one digit after the point.
MONEY_COLUMNS = (
    ("booking", "total", 13),
    ("booking", "amount_due_now", 13),
    ("booking", "platform_fee", 13),
    ("booking", "balance_amount", 13),
    ("booking", "refund_amount", 13),
    ("booking", "credit_amount", 13),
    ("booking_modification", "old_total", 13),
    ("booking_modification", "new_total", 13),
    ("booking_modification", "difference", 13),
    ("booking_request", "counter_price", 13),
    ("cart", "amount_due_now", 13),
    ("cart", "platform_fee", 13),
    ("expert_grant", "spending_limit", 13),
    ("expert_handoff", "budget", 13),
    ("expert_booking", "expert_fee", 13),
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
