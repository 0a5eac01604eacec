"""Blackouts can be lifted, and keep the slots they took out with what was taken on them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("blackout", sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("blackout", sa.Column("lifted_by", sa.Uuid(), nullable=True))
    op.create_table(
        "blackout_slot",
        sa.Column("blackout_id", sa.Uuid(), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blackout_id"], ["blackout.id"], name=op.f("fk_blackout_slot_blackout_id_blackout"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slot.id"], name=op.f("fk_blackout_slot_slot_id_slot"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listing.id"], name=op.f("fk_blackout_slot_listing_id_listing"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("blackout_id", "slot_id", name=op.f("pk_blackout_slot")),
    )
    op.create_index(op.f("ix_blackout_slot_slot_id"), "blackout_slot", ["slot_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_blackout_slot_slot_id"), table_name="blackout_slot")
    op.drop_table("blackout_slot")
    op.drop_column("blackout", "lifted_by")
    op.drop_column("blackout", "lifted_at")
