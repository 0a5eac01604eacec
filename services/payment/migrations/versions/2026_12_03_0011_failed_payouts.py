"""A payout Stripe could not pay into the recipient's bank is marked failed, with Stripe's reason.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payout", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payout", sa.Column("failure_code", sa.String(length=100), nullable=True))
    op.add_column("payout", sa.Column("failure_message", sa.String(length=1000), nullable=True))
    op.drop_constraint(op.f("ck_payout_status_known"), "payout", type_="check")
    op.create_check_constraint(
        op.f("ck_payout_status_known"), "payout", "status IN ('pending', 'paid', 'netted', 'failed')"
    )
    # A webhook about a payout finds it by Stripe's id.
    op.create_index(op.f("ix_payout_stripe_payout_id"), "payout", ["stripe_payout_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payout_stripe_payout_id"), table_name="payout")
    op.drop_constraint(op.f("ck_payout_status_known"), "payout", type_="check")
    op.create_check_constraint(op.f("ck_payout_status_known"), "payout", "status IN ('pending', 'paid', 'netted')")
    op.drop_column("payout", "failure_message")
    op.drop_column("payout", "failure_code")
    op.drop_column("payout", "failed_at")
