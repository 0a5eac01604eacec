"""Revenue per day, provider, category and currency (`revenue_provider_day`): the listings' day
rollup summed over listings, which every revenue report grouping reads; filled from
`revenue_day` and kept beside it by the revenue consumer from now on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = (
    "gmv",
    "platform_fees",
    "refunds",
    "credits",
    "credits_spent",
    "payouts",
    "expert_fees",
    "expert_payouts",
)


def upgrade() -> None:
    op.create_table(
        "revenue_provider_day",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("bookings", sa.Integer(), server_default="0", nullable=False),
        *(sa.Column(name, sa.Numeric(precision=18, scale=3), server_default="0", nullable=False) for name in SUMS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_provider_day")),
    )
    op.create_index(
        "uq_revenue_provider_day_key",
        "revenue_provider_day",
        ["day", "provider_id", "category", "currency"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_revenue_provider_day_provider_id_day", "revenue_provider_day", ["provider_id", "day"])
    sums = ", ".join(SUMS)
    op.execute(
        f"INSERT INTO revenue_provider_day (day, provider_id, category, currency, bookings, {sums})"  # noqa: S608 (column names)
        f" SELECT day, provider_id, category, currency, sum(bookings), {', '.join(f'sum({name})' for name in SUMS)}"
        " FROM revenue_day GROUP BY day, provider_id, category, currency"
    )


def downgrade() -> None:
    op.drop_index("ix_revenue_provider_day_provider_id_day", table_name="revenue_provider_day")
    op.drop_index("uq_revenue_provider_day_key", table_name="revenue_provider_day")
    op.drop_table("revenue_provider_day")
