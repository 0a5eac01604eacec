"""An action given to `after_commit` runs once its transaction has committed, when the data
it announces is there to read, and not at all when the transaction rolls back."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import after_commit, create_engine, create_session_factory

SCHEMA = "after_commit_actions"


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


async def test_an_action_runs_after_the_commit_and_sees_what_was_committed(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    lines_seen: asyncio.Queue[int] = asyncio.Queue()

    async def count_lines() -> None:
        async with engine.connect() as connection:
            await lines_seen.put(int(await connection.scalar(text("SELECT count(*) FROM line")) or 0))

    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO line DEFAULT VALUES"))
        after_commit(session, count_lines)
        await asyncio.sleep(0.1)
        assert lines_seen.empty()

    assert await asyncio.wait_for(lines_seen.get(), 5) == 1


async def test_an_action_of_a_transaction_rolled_back_never_runs(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    ran = asyncio.Event()

    async def announce() -> None:
        ran.set()

    async with sessions() as session:

        async def failing_use_case() -> None:
            async with session.begin():
                after_commit(session, announce)
                raise RuntimeError("the use case failed")

        with pytest.raises(RuntimeError):
            await failing_use_case()
        # The session's next transaction commits: the rolled back one's action is gone.
        async with session.begin():
            await session.execute(text("SELECT 1"))

    await asyncio.sleep(0.2)
    assert not ran.is_set()


async def test_a_failing_action_does_not_fail_the_commit(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)

    async def fail() -> None:
        raise ConnectionError("Redis is away")

    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO line DEFAULT VALUES"))
        after_commit(session, fail)
    await asyncio.sleep(0.1)

    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM line")) == 1
