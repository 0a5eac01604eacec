"""Reads that must agree with each other (a page and the totals beside it) come from one
snapshot, against the real database."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, create_session_factory, read_from_one_snapshot

SCHEMA = "snapshot_reads"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url=database_url, schema=SCHEMA, pool_size=2)
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await connection.execute(text(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.line (id serial PRIMARY KEY)"))
    yield engine
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await engine.dispose()


async def _lines_seen_before_and_after_a_commit_between(engine: AsyncEngine, *, one_snapshot: bool) -> tuple[int, int]:
    sessions = create_session_factory(engine)
    async with sessions() as reader:
        if one_snapshot:
            await read_from_one_snapshot(reader)
        before = int(await reader.scalar(text("SELECT count(*) FROM line")) or 0)
        async with engine.begin() as writer:
            await writer.execute(text("INSERT INTO line DEFAULT VALUES"))
        after = int(await reader.scalar(text("SELECT count(*) FROM line")) or 0)
    return before, after


async def test_reads_from_one_snapshot_do_not_see_a_commit_made_between_them(engine: AsyncEngine) -> None:
    before, after = await _lines_seen_before_and_after_a_commit_between(engine, one_snapshot=True)
    assert after == before


async def test_reads_without_it_each_see_what_was_committed_before_them(engine: AsyncEngine) -> None:
    before, after = await _lines_seen_before_and_after_a_commit_between(engine, one_snapshot=False)
    assert after == before + 1


async def test_the_snapshot_cannot_be_chosen_once_the_transaction_has_begun(engine: AsyncEngine) -> None:
    async with create_session_factory(engine)() as session:
        await session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError):
            await read_from_one_snapshot(session)
