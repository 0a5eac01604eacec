"""Deliveries found by the provider's message id, as a status callback names the message.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_notification_delivery_provider_message_id",
        "notification_delivery",
        ["provider_message_id"],
        postgresql_where="provider_message_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_notification_delivery_provider_message_id", table_name="notification_delivery")
