"""Revenue from payment's ledger: booking facts, a row per ledger movement and day rollups, in
place of each booking's total (booking_revenue) and its refunds (refund_received).

Bookings carry over (their facts, and their count on the day they were confirmed; a booking
cancelled before now is marked so only by a replay). Their money does not: it comes from
payment's ledger events, which payment's migration 0012 announces for its whole history. Going
down, each booking's sums come back from its movements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = ("gmv", "platform_fees", "refunds", "credits", "credits_spent", "payouts", "expert_fees", "expert_payouts")


def _sums() -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Numeric(precision=18, scale=3), server_default="0", nullable=False) for name in SUMS]


def upgrade() -> None:
    op.create_table(
        "booking_fact",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_fact")),
    )
    op.create_index(op.f("ix_booking_fact_provider_id"), "booking_fact", ["provider_id"])
    op.create_index(op.f("ix_booking_fact_listing_id"), "booking_fact", ["listing_id"])
    op.create_index(op.f("ix_booking_fact_confirmed_at"), "booking_fact", ["confirmed_at"])
    op.create_table(
        "money_movement",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_movement")),
    )
    op.create_index(op.f("ix_money_movement_booking_id"), "money_movement", ["booking_id"])
    op.create_index(
        "uq_money_movement_transaction_provider",
        "money_movement",
        ["transaction_id", "provider_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "revenue_day",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("listing_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("bookings", sa.Integer(), server_default="0", nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_day")),
    )
    op.create_index(
        "uq_revenue_day_key",
        "revenue_day",
        ["day", "provider_id", "listing_id", "category", "currency"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_revenue_day_provider_id_day", "revenue_day", ["provider_id", "day"])
    op.execute(
        "INSERT INTO booking_fact (booking_id, provider_id, listing_id, category, currency, confirmed_at, status)"
        " SELECT booking_id, provider_id, listing_id, category, currency, confirmed_at, 'confirmed'"
        " FROM booking_revenue"
    )
    op.execute(
        "INSERT INTO revenue_day (day, provider_id, listing_id, category, currency, bookings)"
        " SELECT (confirmed_at AT TIME ZONE 'UTC')::date, provider_id, listing_id, category, currency, count(*)"
        " FROM booking_fact GROUP BY 1, 2, 3, 4, 5"
    )
    op.drop_index(op.f("ix_refund_received_booking_id"), table_name="refund_received")
    op.drop_table("refund_received")
    op.drop_index(op.f("ix_booking_revenue_provider_id"), table_name="booking_revenue")
    op.drop_index(op.f("ix_booking_revenue_confirmed_at"), table_name="booking_revenue")
    op.drop_table("booking_revenue")


def downgrade() -> None:
    op.create_table(
        "booking_revenue",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gmv", sa.Numeric(precision=15, scale=3), nullable=False),
        sa.Column("platform_fee", sa.Numeric(precision=15, scale=3), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_booking_revenue")),
    )
    op.create_index(op.f("ix_booking_revenue_confirmed_at"), "booking_revenue", ["confirmed_at"])
    op.create_index(op.f("ix_booking_revenue_provider_id"), "booking_revenue", ["provider_id"])
    op.create_table(
        "refund_received",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_received")),
    )
    op.create_index(op.f("ix_refund_received_booking_id"), "refund_received", ["booking_id"])
    op.execute(
        "INSERT INTO booking_revenue"
        " (booking_id, provider_id, listing_id, category, currency, gmv, platform_fee, confirmed_at)"
        " SELECT fact.booking_id, fact.provider_id, fact.listing_id, fact.category, fact.currency,"
        " coalesce(sum(movement.gmv), 0), coalesce(sum(movement.platform_fees), 0), fact.confirmed_at"
        " FROM booking_fact AS fact LEFT JOIN money_movement AS movement"
        " ON movement.booking_id = fact.booking_id AND movement.kind = 'capture'"
        " GROUP BY fact.booking_id"
    )
    op.execute(
        "INSERT INTO refund_received (booking_id, amount, currency)"
        " SELECT booking_id, refunds, currency FROM money_movement WHERE refunds <> 0"
    )
    op.drop_table("revenue_day")
    op.drop_table("money_movement")
    op.drop_table("booking_fact")
