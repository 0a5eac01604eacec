"""The ledger's transactions written before each one was announced are announced once now
(`payment.ledger_transaction_recorded` v1 in the outbox, oldest first), so analytics, which
counts money from these events only, sees the whole ledger. Going down leaves them announced.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        WITH history AS MATERIALIZED (
            SELECT gen_random_uuid() AS event_id, t.id, t.booking_id::text AS key, t.occurred_at,
                   jsonb_build_object(
                       'transaction_id', t.id,
                       'kind', t.kind,
                       'booking_id', t.booking_id,
                       'reference', t.reference,
                       'currency', t.currency,
                       'occurred_at', t.occurred_at,
                       'entries', (
                           SELECT coalesce(jsonb_agg(jsonb_build_object('account', e.account, 'amount', e.amount::text)
                                                     ORDER BY e.account, e.amount), '[]'::jsonb)
                           FROM ledger_entry AS e WHERE e.transaction_id = t.id)) AS payload
            FROM ledger_transaction AS t
        )
        INSERT INTO outbox_message (event_id, topic, key, event_type, envelope)
        SELECT event_id, 'payment.events', key, 'payment.ledger_transaction_recorded',
               jsonb_build_object(
                   'event_id', event_id,
                   'type', 'payment.ledger_transaction_recorded',
                   'version', 1,
                   'occurred_at', occurred_at,
                   'producer', 'payment',
                   'key', key,
                   'correlation_id', NULL,
                   'payload', payload)
        FROM history
        ORDER BY occurred_at, id
        """
    )


def downgrade() -> None:
    pass
