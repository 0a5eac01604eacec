"""Payments, fees, payouts and the ledger hold three decimals, the most a currency has (KWD, BHD).

The digits before the point stay as they were; going down rounds to two decimals.

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

# (table, column, digits in all): the money columns, each widened by one digit after the point.
MONEY_COLUMNS = (
    ("fee_rule", "fixed_amount", 13),
    ("fee_rule", "min_fee", 13),
    ("fee_rule", "max_fee", 13),
    ("payment", "amount", 13),
    ("payment", "platform_fee", 13),
    ("payment", "amount_refunded", 13),
    ("payment", "amount_refund_decided", 13),
    ("payment", "expert_fee", 13),
    ("payout", "gross", 13),
    ("payout", "netted", 13),
    ("payout", "amount", 13),
    ("payout_transfer", "amount", 13),
    ("stripe_command", "amount", 13),
    ("ledger_entry", "amount", 15),
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
