"""Alembic plumbing: each app keeps its own history in its own schema, with its own
version table, and runs it with `upgrade_to_head`."""

import asyncio
import importlib
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import PlumbingBase
from shared.settings import AppSettings


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade_to_head(migrations_dir: Path, *, database_url: str | None = None) -> None:
    """Bring an app's schema up to date, in `database_url` or the one its settings name."""
    config = alembic_config(migrations_dir)
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def plumbing_metadata() -> MetaData:
    """The tables every app has besides its own: the outbox and the inbox."""
    import shared.events.models  # noqa: F401  (registers the tables on PlumbingBase)

    return PlumbingBase.metadata


def run_migrations(settings: AppSettings, app_metadata: MetaData) -> None:
    """The body of every app's env.py: online migrations inside the app's schema."""
    schema = settings.db_schema
    target_metadata = [app_metadata, plumbing_metadata()]

    def migrate(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # Unqualified: the search path puts the version table in the app's own schema.
            version_table="alembic_version",
            compare_type=True,
        )
        with context.begin_transaction():
            # Two apps starting together must not run the same migration twice.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"migrate:{schema}"})
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(context.config.attributes.get("database_url") or settings.database_url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(run())


def create_outbox_and_inbox_tables() -> None:
    """Migration step shared by every app's first revision: the outbox and inbox tables."""
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_message"),
        sa.UniqueConstraint("event_id", name="uq_outbox_message_event_id"),
    )
    op.create_index(
        "ix_outbox_message_unpublished", "outbox_message", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "inbox_message",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox_message"),
    )


def drop_outbox_and_inbox_tables() -> None:
    op.drop_table("inbox_message")
    op.drop_index("ix_outbox_message_unpublished", table_name="outbox_message")
    op.drop_table("outbox_message")


def main() -> None:
    """`python -m shared.migrations <app package>...`: migrate each app (what deployments run)."""
    packages = sys.argv[1:]
    if not packages:
        raise SystemExit("usage: python -m shared.migrations gateway services.inventory ...")
    for package in packages:
        upgrade_to_head(Path(importlib.import_module(package).__path__[0]) / "migrations")


if __name__ == "__main__":
    main()
