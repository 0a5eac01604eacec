"""Each refund payment made for a booking, kept once (the traveler is told of it once); a
waitlist entry keeps its traveler's email and the listing's title, for the offer's message.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_refund",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.Numeric(precision=13, scale=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_to", sa.String(length=10), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", "refund_id", name=op.f("pk_booking_refund")),
    )
    op.add_column("waitlist_entry", sa.Column("traveler_email", sa.String(length=320), nullable=True))
    op.add_column("waitlist_entry", sa.Column("listing_title", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("waitlist_entry", "listing_title")
    op.drop_column("waitlist_entry", "traveler_email")
    op.drop_table("booking_refund")
