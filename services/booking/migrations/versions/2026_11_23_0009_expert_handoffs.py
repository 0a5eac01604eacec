"""Expert handoffs and grants: experts' privileges, travelers' grants, handoffs, the bookings
experts make for travelers, and who a change in a booking's history was made for.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expert_profile",
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("personal_assistant", sa.Boolean(), nullable=False),
        sa.Column("fee_percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("expert_id", name=op.f("pk_expert_profile")),
    )
    op.create_table(
        "expert_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("spending_limit", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(spending_limit IS NULL) = (currency IS NULL)", name=op.f("ck_expert_grant_limit_has_currency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_grant")),
    )
    op.create_index(op.f("ix_expert_grant_traveler_id"), "expert_grant", ["traveler_id"], unique=False)
    op.create_index(op.f("ix_expert_grant_expert_id"), "expert_grant", ["expert_id"], unique=False)
    op.create_index(
        "uq_expert_grant_traveler_id_expert_id",
        "expert_grant",
        ["traveler_id", "expert_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "expert_handoff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traveler_id", sa.Uuid(), nullable=False),
        sa.Column("traveler_email", sa.String(length=320), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("budget", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "itinerary", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("fee_percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("itinerary_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_handoff")),
    )
    op.create_index(op.f("ix_expert_handoff_traveler_id"), "expert_handoff", ["traveler_id"], unique=False)
    op.create_index(op.f("ix_expert_handoff_expert_id"), "expert_handoff", ["expert_id"], unique=False)
    op.create_table(
        "expert_booking",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("handoff_id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("fee_percentage", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("expert_fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_expert_booking_booking_id_booking"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["expert_handoff.id"], name=op.f("fk_expert_booking_handoff_id_expert_handoff")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["expert_grant.id"], name=op.f("fk_expert_booking_grant_id_expert_grant")
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_expert_booking")),
    )
    op.create_index(op.f("ix_expert_booking_handoff_id"), "expert_booking", ["handoff_id"], unique=False)
    op.create_index(op.f("ix_expert_booking_grant_id"), "expert_booking", ["grant_id"], unique=False)
    op.add_column("booking", sa.Column("booked_by_expert_id", sa.Uuid(), nullable=True))
    op.add_column("booking_change", sa.Column("on_behalf_of", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("booking_change", "on_behalf_of")
    op.drop_column("booking", "booked_by_expert_id")
    op.drop_index(op.f("ix_expert_booking_grant_id"), table_name="expert_booking")
    op.drop_index(op.f("ix_expert_booking_handoff_id"), table_name="expert_booking")
    op.drop_table("expert_booking")
    op.drop_index(op.f("ix_expert_handoff_expert_id"), table_name="expert_handoff")
    op.drop_index(op.f("ix_expert_handoff_traveler_id"), table_name="expert_handoff")
    op.drop_table("expert_handoff")
    op.drop_index("uq_expert_grant_traveler_id_expert_id", table_name="expert_grant")
    op.drop_index(op.f("ix_expert_grant_expert_id"), table_name="expert_grant")
    op.drop_index(op.f("ix_expert_grant_traveler_id"), table_name="expert_grant")
    op.drop_table("expert_grant")
    op.drop_table("expert_profile")
