"""Capacity per day: a pool of seats per date that the date's slots share.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("listing", sa.Column("capacity_per", sa.String(length=10), server_default="slot", nullable=False))
    op.add_column("listing", sa.Column("day_capacity", sa.Integer(), nullable=True))
    op.alter_column("schedule", "capacity", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "day_pool",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("confirmed_seats", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "confirmed_seats >= 0 AND confirmed_seats <= capacity", name=op.f("ck_day_pool_seats_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listing.id"], name=op.f("fk_day_pool_listing_id_listing"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_pool")),
        sa.UniqueConstraint("listing_id", "local_date", name=op.f("uq_day_pool_listing_id_local_date")),
    )
    op.add_column("slot", sa.Column("pool_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_slot_pool_id_day_pool"), "slot", "day_pool", ["pool_id"], ["id"], ondelete="CASCADE")
    op.create_index(op.f("ix_slot_pool_id"), "slot", ["pool_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slot_pool_id"), table_name="slot")
    op.drop_constraint(op.f("fk_slot_pool_id_day_pool"), "slot", type_="foreignkey")
    op.drop_column("slot", "pool_id")
    op.drop_table("day_pool")
    op.execute("DELETE FROM schedule WHERE capacity IS NULL")
    op.alter_column("schedule", "capacity", existing_type=sa.Integer(), nullable=False)
    op.drop_column("listing", "day_capacity")
    op.drop_column("listing", "capacity_per")
