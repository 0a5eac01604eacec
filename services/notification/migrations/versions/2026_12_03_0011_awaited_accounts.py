"""Notices waiting for an account the directory has not heard of yet.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "awaited_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("awaited_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awaited_account")),
        sa.UniqueConstraint(
            "source_event_id", "kind", "user_id", name=op.f("uq_awaited_account_source_event_id_kind_user_id")
        ),
    )
    op.create_index(op.f("ix_awaited_account_user_id"), "awaited_account", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_awaited_account_user_id"), table_name="awaited_account")
    op.drop_table("awaited_account")
