"""Stripe Connect and payouts: providers' and experts' connected accounts, the payout policy
(seeded: new providers after the service plus 24 h, verified ones at confirmation), each booking's
payout schedule per recipient, the payouts and transfers made, and on each payment where its
money went (a destination charge's account) and the expert's part of its fee.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connected_account",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("owner_role", sa.String(length=10), nullable=False),
        sa.Column("stripe_account_id", sa.String(length=100), nullable=False),
        sa.Column("charges_enabled", sa.Boolean(), nullable=False),
        sa.Column("payouts_enabled", sa.Boolean(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), nullable=False),
        sa.Column("requirements_due", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("owner_role IN ('provider', 'expert')", name=op.f("ck_connected_account_owner_role_known")),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_connected_account")),
        sa.UniqueConstraint("stripe_account_id", name=op.f("uq_connected_account_stripe_account_id")),
    )
    op.create_table(
        "payout_policy",
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("anchor", sa.String(length=20), nullable=False),
        sa.Column("delay_hours", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("tier IN ('new', 'verified')", name=op.f("ck_payout_policy_tier_known")),
        sa.CheckConstraint("anchor IN ('confirmation', 'service_end')", name=op.f("ck_payout_policy_anchor_known")),
        sa.CheckConstraint("delay_hours >= 0", name=op.f("ck_payout_policy_delay_not_negative")),
        sa.PrimaryKeyConstraint("tier", name=op.f("pk_payout_policy")),
    )
    op.execute(
        "INSERT INTO payout_policy (tier, anchor, delay_hours) VALUES"
        " ('new', 'service_end', 24),"
        " ('verified', 'confirmation', 0)"
    )
    op.create_table(
        "payout_schedule",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_role", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "recipient_role IN ('provider', 'expert')", name=op.f("ck_payout_schedule_recipient_role_known")
        ),
        sa.PrimaryKeyConstraint("booking_id", "recipient_id", name=op.f("pk_payout_schedule")),
    )
    op.create_index(
        "ix_payout_schedule_open",
        "payout_schedule",
        ["recipient_id"],
        postgresql_where=sa.text("open"),
    )
    op.create_table(
        "payout",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_role", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("netted", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("netted_into_id", sa.Uuid(), nullable=True),
        sa.Column("stripe_account_id", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("stripe_payout_id", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'paid', 'netted')", name=op.f("ck_payout_status_known")),
        sa.CheckConstraint("amount >= 0 AND amount = gross - netted", name=op.f("ck_payout_adds_up")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout")),
        sa.UniqueConstraint(
            "booking_id", "recipient_id", "sequence", name=op.f("uq_payout_booking_id_recipient_id_sequence")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payout_idempotency_key")),
    )
    op.create_index(op.f("ix_payout_recipient_id"), "payout", ["recipient_id"], unique=False)
    op.create_index("ix_payout_pending", "payout", ["recipient_id"], postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "payout_transfer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("stripe_account_id", sa.String(length=100), nullable=False),
        sa.Column("transfer_group", sa.String(length=100), nullable=False),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("stripe_transfer_id", sa.String(length=100), nullable=True),
        sa.Column("stripe_reversal_id", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done')", name=op.f("ck_payout_transfer_status_known")),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_payout_transfer_moves_money")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_transfer")),
        sa.UniqueConstraint(
            "booking_id", "recipient_id", "sequence", name=op.f("uq_payout_transfer_booking_id_recipient_id_sequence")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payout_transfer_idempotency_key")),
    )
    op.create_index(
        "ix_payout_transfer_pending",
        "payout_transfer",
        ["recipient_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.add_column("payment", sa.Column("destination_account_id", sa.String(length=100), nullable=True))
    op.add_column("payment", sa.Column("expert_id", sa.Uuid(), nullable=True))
    op.add_column("payment", sa.Column("expert_fee", sa.Numeric(precision=12, scale=2), nullable=True))
    op.create_check_constraint(
        "expert_fee_has_expert", "payment", "(expert_id IS NULL) = (expert_fee IS NULL) AND expert_fee >= 0"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_payment_expert_fee_has_expert"), "payment", type_="check")
    op.drop_column("payment", "expert_fee")
    op.drop_column("payment", "expert_id")
    op.drop_column("payment", "destination_account_id")
    op.drop_index("ix_payout_transfer_pending", table_name="payout_transfer")
    op.drop_table("payout_transfer")
    op.drop_index("ix_payout_pending", table_name="payout")
    op.drop_index(op.f("ix_payout_recipient_id"), table_name="payout")
    op.drop_table("payout")
    op.drop_index("ix_payout_schedule_open", table_name="payout_schedule")
    op.drop_table("payout_schedule")
    op.drop_table("payout_policy")
    op.drop_table("connected_account")
