"""The provider's email on a listing, where booking requests reach them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("listing", sa.Column("provider_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("listing", "provider_email")
