"""Identity: an account's locale, and when what identity.account_changed carries last changed.

Existing accounts write in English and count as changed now; republishing them
(`POST /api/v1/auth/accounts/republish`) makes them known to notification.

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
    op.add_column("user_account", sa.Column("locale", sa.String(length=35), server_default="en", nullable=False))
    op.add_column(
        "user_account",
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "changed_at")
    op.drop_column("user_account", "locale")
