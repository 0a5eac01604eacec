"""A declined request's alternative slots carry their zone and their start and end instants.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Alternatives stored before kept only the local date and times of day; the instants follow
    # from them in the request's zone (the listing's). Times of day cannot tell how many days a
    # slot lasts: the end is taken as the first such time after the start.
    op.execute(
        """
        UPDATE booking_request SET alternatives = (
            SELECT jsonb_agg(
                alternative || jsonb_build_object(
                    'timezone', booking_request.timezone,
                    'starts_at',
                    ((alternative->>'date')::date + (alternative->>'start_time')::time)
                        AT TIME ZONE booking_request.timezone,
                    'ends_at',
                    ((alternative->>'date')::date + (alternative->>'end_time')::time
                        + CASE WHEN (alternative->>'end_time')::time <= (alternative->>'start_time')::time
                            THEN interval '1 day' ELSE interval '0' END)
                        AT TIME ZONE booking_request.timezone
                )
                ORDER BY position
            )
            FROM jsonb_array_elements(booking_request.alternatives) WITH ORDINALITY AS item(alternative, position)
        )
        WHERE jsonb_array_length(alternatives) > 0
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE booking_request SET alternatives = (
            SELECT jsonb_agg(
                alternative - 'timezone' - 'starts_at' - 'ends_at' - 'local_starts_at' - 'local_ends_at'
                ORDER BY position
            )
            FROM jsonb_array_elements(booking_request.alternatives) WITH ORDINALITY AS item(alternative, position)
        )
        WHERE jsonb_array_length(alternatives) > 0
        """
    )
