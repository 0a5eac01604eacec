from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.notification.db import Base


class KnownAccount(Base):
    """An account of the platform as the gateway last announced it (identity.account_changed):
    how to reach its owner, by the account's id alone. Its texts have no length limit: the
    directory does not refuse what the gateway accepted."""

    __tablename__ = "known_account"
    __table_args__ = (
        # Who has a role (every admin, say): `roles @> ARRAY[...]`.
        Index("ix_known_account_roles", "roles", postgresql_using="gin"),
    )

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String())
    name: Mapped[str] = mapped_column(String())
    roles: Mapped[list[str]] = mapped_column(ARRAY(String()))
    locale: Mapped[str] = mapped_column(String())
    email_verified: Mapped[bool]
    # The announced account's `changed_at`: an announcement older than this changes nothing.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
