"""What has been decided to refund of each payment (so two refunds decided before either is made
cannot together exceed what was captured), and when a failed Stripe call is next tried.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payment",
        sa.Column("amount_refund_decided", sa.Numeric(precision=12, scale=2), nullable=False, server_default="0"),
    )
    # Refunds decided before this revision: made ones, and those still waiting for Stripe.
    op.execute(
        "UPDATE payment SET amount_refund_decided = amount_refunded + coalesce(("
        " SELECT sum(c.amount) FROM stripe_command c"
        " WHERE c.payment_id = payment.id AND c.kind = 'refund' AND c.status = 'pending'), 0)"
    )
    # Empty until a call fails: a new command is due at once.
    op.add_column("stripe_command", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_stripe_command_pending",
        "stripe_command",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_stripe_command_pending", table_name="stripe_command")
    op.drop_column("stripe_command", "next_attempt_at")
    op.drop_column("payment", "amount_refund_decided")
