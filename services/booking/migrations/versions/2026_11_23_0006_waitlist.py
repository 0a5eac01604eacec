"""The waitlist.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_waitlist_entry_hold_id")),
    )
    op.create_index(
        "ix_waitlist_entry_listing_id_local_date_status",
        "waitlist_entry",
        ["listing_id", "local_date", "status"],
        unique=False,
    )
    op.create_index(op.f("ix_waitlist_entry_traveler_id"), "waitlist_entry", ["traveler_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_waitlist_entry_traveler_id"), table_name="waitlist_entry")
    op.drop_index("ix_waitlist_entry_listing_id_local_date_status", table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
