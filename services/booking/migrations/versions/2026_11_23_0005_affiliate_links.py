"""Affiliate links per listing and partner, and their clicks.

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
    op.create_table(
        "affiliate_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("partner", sa.String(length=20), nullable=False),
        sa.Column("query", sa.String(length=400), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliate_link")),
        sa.UniqueConstraint("code", name=op.f("uq_affiliate_link_code")),
        sa.UniqueConstraint("listing_id", "partner", name=op.f("uq_affiliate_link_listing_id_partner")),
    )
    op.create_table(
        "affiliate_click",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["affiliate_link.id"],
            name=op.f("fk_affiliate_click_link_id_affiliate_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliate_click")),
    )
    op.create_index(op.f("ix_affiliate_click_link_id"), "affiliate_click", ["link_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_affiliate_click_link_id"), table_name="affiliate_click")
    op.drop_table("affiliate_click")
    op.drop_table("affiliate_link")
