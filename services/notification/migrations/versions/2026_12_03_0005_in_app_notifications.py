"""In-app notifications: each in its recipient's feed, with when it was read.

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


def upgrade() -> None:
    op.create_table(
        "in_app_notification",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_in_app_notification_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_in_app_notification")),
    )
    op.create_index("ix_in_app_notification_feed", "in_app_notification", ["user_id", "created_at", "notification_id"])
    op.create_index(
        "ix_in_app_notification_unread",
        "in_app_notification",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_in_app_notification_unread", table_name="in_app_notification")
    op.drop_index("ix_in_app_notification_feed", table_name="in_app_notification")
    op.drop_table("in_app_notification")
