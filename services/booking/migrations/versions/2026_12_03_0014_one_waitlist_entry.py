"""Fair use: one waitlist entry per traveler per listing and date.

Entries a traveler made twice before are merged into one: the entry that went furthest
(claimed, then offered) is kept, else the first one made.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DELETE FROM waitlist_entry WHERE id IN (
          SELECT id FROM (
            SELECT id, row_number() OVER (
              PARTITION BY traveler_id, listing_id, local_date
              ORDER BY CASE status WHEN 'claimed' THEN 0 WHEN 'offered' THEN 1 ELSE 2 END, created_at, id
            ) AS rank
            FROM waitlist_entry
          ) ranked WHERE rank > 1
        )
        """
    )
    op.create_unique_constraint(
        op.f("uq_waitlist_entry_traveler_id_listing_id_local_date"),
        "waitlist_entry",
        ["traveler_id", "listing_id", "local_date"],
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_waitlist_entry_traveler_id_listing_id_local_date"), "waitlist_entry", type_="unique")
