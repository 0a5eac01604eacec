"""Every app's Alembic history builds its own schema, with its own version table, and ends
exactly where its models are."""

import asyncio
import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from devstack.apps import ALL_APPS, AppSpec
from shared.db import create_engine
from shared.migrations import plumbing_metadata, upgrade_to_head


@pytest.fixture(params=ALL_APPS, ids=lambda spec: spec.name)
async def migrated_app(request: pytest.FixtureRequest, database_url: str) -> AppSpec:
    spec: AppSpec = request.param
    await asyncio.to_thread(upgrade_to_head, spec.migrations_dir, database_url=database_url)
    await asyncio.to_thread(upgrade_to_head, spec.migrations_dir, database_url=database_url)
    return spec


def _app_metadata(spec: AppSpec) -> MetaData:
    """The app's own tables and the shared plumbing tables, as one MetaData."""
    importlib.import_module(f"{spec.package}.main")  # imports every model of the app
    combined = MetaData()
    for metadata in (importlib.import_module(f"{spec.package}.db").Base.metadata, plumbing_metadata()):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


async def test_each_app_has_its_schema_and_version_table(migrated_app: AppSpec, database_url: str) -> None:
    schema = migrated_app.settings().db_schema
    engine = create_engine(database_url=database_url, schema=schema)
    try:
        async with engine.connect() as connection:
            tables = set(
                (
                    await connection.execute(
                        text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"),
                        {"schema": schema},
                    )
                ).scalars()
            )
    finally:
        await engine.dispose()
    assert {"alembic_version", "outbox_message", "inbox_message"} <= tables


async def test_each_apps_migrations_match_its_models(migrated_app: AppSpec, database_url: str) -> None:
    schema = migrated_app.settings().db_schema
    engine = create_engine(database_url=database_url, schema=schema)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, _app_metadata(migrated_app)))

    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diffs == []
