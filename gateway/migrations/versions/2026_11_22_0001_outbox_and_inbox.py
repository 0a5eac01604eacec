"""The outbox and inbox tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from shared.migrations import create_outbox_and_inbox_tables, drop_outbox_and_inbox_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_and_inbox_tables()


def downgrade() -> None:
    drop_outbox_and_inbox_tables()
