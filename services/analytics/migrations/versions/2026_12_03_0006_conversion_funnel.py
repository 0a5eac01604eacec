"""The conversion funnel: day rollups per provider and listing, the listings' providers, each
booking's steps and each request's first answer.

Empty at first: the funnel's consumer is a new consumer group, which reads inventory's and
booking's topics from their start and so builds them from the history the broker keeps.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = ("holds", "bookings", "paid", "confirmed", "requests", "accepted")


def upgrade() -> None:
    op.create_table(
        "funnel_day",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("views", sa.BigInteger(), server_default="0", nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in STEPS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_day")),
    )
    op.create_index(
        "uq_funnel_day_key",
        "funnel_day",
        ["day", "provider_id", "listing_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_funnel_day_provider_id_day", "funnel_day", ["provider_id", "day"])
    op.create_index("ix_funnel_day_listing_id_day", "funnel_day", ["listing_id", "day"])
    op.create_table(
        "funnel_listing",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_funnel_listing")),
    )
    op.create_table(
        "funnel_booking",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("listing_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_funnel_booking")),
    )
    op.create_table(
        "funnel_request",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", sa.String(length=20), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_seconds", sa.Double(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_funnel_request")),
    )
    op.create_index("ix_funnel_request_responded_at", "funnel_request", ["responded_at"])
    op.create_index("ix_funnel_request_provider_id_responded_at", "funnel_request", ["provider_id", "responded_at"])
    op.create_index("ix_funnel_request_listing_id_responded_at", "funnel_request", ["listing_id", "responded_at"])


def downgrade() -> None:
    op.drop_table("funnel_request")
    op.drop_table("funnel_booking")
    op.drop_table("funnel_listing")
    op.drop_index("ix_funnel_day_listing_id_day", table_name="funnel_day")
    op.drop_index("ix_funnel_day_provider_id_day", table_name="funnel_day")
    op.drop_index("uq_funnel_day_key", table_name="funnel_day")
    op.drop_table("funnel_day")
