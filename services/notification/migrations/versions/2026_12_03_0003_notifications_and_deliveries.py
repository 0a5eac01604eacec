"""Notifications and their deliveries per channel, in place of the email queue: emails still
pending in the old queue are carried over.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The old queue's kind (the event type) → the notification kind and what it is about.
KINDS = {
    "booking.confirmed": ("booking_confirmed", "booking"),
    "booking.cancelled": ("booking_cancelled", "booking"),
    "booking.modified": ("booking_changed", "booking"),
    "booking.balance_charge_failed": ("balance_charge_failed", "booking"),
    "booking.booked_on_behalf": ("booked_on_behalf", "booking"),
    "booking.request_created": ("booking_request_created", "booking_request"),
    "booking.request_provider_reminded": ("booking_request_provider_reminded", "booking_request"),
    "booking.request_provider_warned": ("booking_request_provider_warned", "booking_request"),
    "booking.request_accepted": ("booking_request_accepted", "booking_request"),
    "booking.request_counter_accepted": ("booking_request_counter_accepted", "booking_request"),
    "booking.request_declined": ("booking_request_declined", "booking_request"),
    "booking.request_countered": ("booking_request_countered", "booking_request"),
    "booking.request_expired": ("booking_request_expired", "booking_request"),
    "identity.email_verification_requested": ("email_verification", "account"),
    "identity.registration_attempted": ("registration_attempted", "account"),
    "identity.password_reset_requested": ("password_reset", "account"),
    "identity.password_changed": ("password_changed", "account"),
}


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_key", sa.String(length=320), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("recipient_phone", sa.String(length=32), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "source_event_id",
            "kind",
            "recipient_key",
            name=op.f("uq_notification_source_event_id_kind_recipient_key"),
        ),
    )
    op.create_index(op.f("ix_notification_recipient_user_id"), "notification", ["recipient_user_id"], unique=False)
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("provider_message_id", sa.String(length=320), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_delivery_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint(
            "notification_id", "channel", name=op.f("uq_notification_delivery_notification_id_channel")
        ),
    )
    op.create_index(
        "ix_notification_delivery_due",
        "notification_delivery",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('pending', 'failed_retrying', 'sending')"),
    )
    _carry_over_pending_emails()
    op.drop_index(op.f("ix_email_delivery_status"), table_name="email_delivery")
    op.drop_table("email_delivery")


def _carry_over_pending_emails() -> None:
    """An email still queued becomes a notification with its one email delivery, due now. Its
    source event is not known any more: the queued row's own id stands for it."""
    op.execute(
        """
        INSERT INTO notification (id, kind, source_event_id, recipient_key, recipient_email, locale,
                                  subject_type, title, facts, created_at)
        SELECT id, kind, id, lower(recipient), recipient, 'en', 'account', subject, '{}'::jsonb, created_at
        FROM email_delivery WHERE status = 'pending'
        """
    )
    op.execute(
        """
        INSERT INTO notification_delivery (id, notification_id, channel, address, content, idempotency_key,
                                           state, attempts, queued_at, next_attempt_at)
        SELECT id, id, 'email', recipient, message, id::text, 'pending', 0, now(), now()
        FROM email_delivery WHERE status = 'pending'
        """
    )
    for event_type, (kind, subject_type) in KINDS.items():
        op.get_bind().execute(
            sa.text("UPDATE notification SET kind = :kind, subject_type = :subject_type WHERE kind = :event_type"),
            {"kind": kind, "subject_type": subject_type, "event_type": event_type},
        )


def downgrade() -> None:
    op.create_table(
        "email_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_delivery")),
    )
    op.create_index(op.f("ix_email_delivery_status"), "email_delivery", ["status"], unique=False)
    op.drop_index(
        "ix_notification_delivery_due",
        table_name="notification_delivery",
        postgresql_where=sa.text("state IN ('pending', 'failed_retrying', 'sending')"),
    )
    op.drop_table("notification_delivery")
    op.drop_index(op.f("ix_notification_recipient_user_id"), table_name="notification")
    op.drop_table("notification")
