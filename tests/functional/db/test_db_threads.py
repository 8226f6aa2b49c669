"""Where SQLite's statements run: a page's reads on the event loop's thread, everything else on
aiosqlite's (db._LoopThreadConnection explains why). These tests pin that down, so that an aiosqlite
upgrade that changed the method we replace would fail here rather than quietly bring back four
thread hand-offs per statement, and they check what keeps the loop's thread safe: no writes there."""

from __future__ import annotations

import threading

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.db import LONG_READS_OPT, Database, create_database
from backend.settings import Settings

# SQLite only: on PostgreSQL the three readers and writers are one engine.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def _scratch_table(database: Database, *committed: int) -> None:
    async with database.transaction() as writer:
        await writer.execute(text("CREATE TABLE scratch (n INTEGER)"))
        for n in committed:
            await writer.execute(text("INSERT INTO scratch VALUES (:n)"), {"n": n})


async def _thread_of_statements(session: AsyncSession) -> int:
    """The id of the thread that runs this session's statements, asked of SQLite itself."""
    connection = await (await session.connection()).get_raw_connection()
    await connection.driver_connection.create_function("carelog_thread", 0, threading.get_ident)
    return int((await session.execute(text("SELECT carelog_thread()"))).scalar_one())


def _connection_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def test_page_reads_run_on_the_loops_thread_and_everything_else_on_aiosqlites(
    database: Database,
) -> None:
    here = threading.get_ident()
    async with database.transaction(read_only=True) as page:
        assert await _thread_of_statements(page) == here
    async with database.transaction(read_only=True, long_reads=True) as long_read:
        assert await _thread_of_statements(long_read) != here
    async with database.transaction() as write:
        assert await _thread_of_statements(write) != here


async def test_a_page_read_refuses_to_write_at_once_even_while_another_writer_holds_the_lock(
    database: Database,
) -> None:
    await _scratch_table(database)
    async with database.transaction() as writer:
        # The writer holds SQLite's write lock (BEGIN IMMEDIATE) for this whole block. A write tried
        # from the loop's thread must not queue for it (the whole server would wait): it is refused
        # at once, whatever the busy timeout.
        await writer.execute(text("INSERT INTO scratch VALUES (1)"))
        async with database.transaction(read_only=True) as page:
            with pytest.raises(OperationalError, match="readonly"):
                await page.execute(text("INSERT INTO scratch VALUES (2)"))
    async with database.transaction(read_only=True) as page:
        assert (await page.execute(text("SELECT n FROM scratch"))).scalars().all() == [1]


async def test_a_page_read_sees_what_was_committed_before_it_began_and_nothing_uncommitted(
    database: Database,
) -> None:
    await _scratch_table(database, 1)
    async with database.transaction() as writer:
        await writer.execute(text("INSERT INTO scratch VALUES (2)"))
        async with database.transaction(read_only=True) as page:
            assert (await page.execute(text("SELECT n FROM scratch"))).scalars().all() == [1]
    async with database.transaction(read_only=True) as page:
        assert (await page.execute(text("SELECT n FROM scratch ORDER BY n"))).scalars().all() == [1, 2]


async def test_disposing_the_database_ends_every_connection_thread(settings: Settings) -> None:
    before = _connection_threads()
    database: Database = create_database(settings)
    async with database.transaction(read_only=True) as page, database.transaction() as writer:
        await page.execute(text("SELECT 1"))
        await writer.execute(text("SELECT 1"))
    async with database.transaction(read_only=True, long_reads=True) as long_read:
        await long_read.execute(text("SELECT 1"))
    opened = _connection_threads() - before
    assert len(opened) >= 2, "the page reader and the writer each opened a connection"
    await database.dispose()
    for thread in opened:
        thread.join(timeout=30)  # each ends once its connection is closed
    assert not any(t.is_alive() for t in opened)


def _long_read_paths(app: Litestar) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if "GET" in handler.http_methods:
                    found[route.path] = bool(handler.opt.get(LONG_READS_OPT))
    return found


def test_only_whole_month_and_programme_pages_read_off_the_loops_thread(settings: Settings) -> None:
    paths = _long_read_paths(create_app(settings))
    long_prefixes = ("/settlement", "/reports", "/audit")
    # A station programme's period figures count a province's quarter (bench/cases.py: seconds).
    figures = {p for p in paths if p.startswith("/programmes/{programme_id:int}/figures")}
    assert len(figures) == 3
    # So do a pillar-mother programme's figures (any period, the whole programme: pillar/figures.py).
    pillar_figures = {p for p in paths if p.startswith("/pillar/{pillar_id:int}/figures")}
    assert len(pillar_figures) == 3
    assert {p for p, long in paths.items() if long} == {
        p for p in paths if p.startswith(long_prefixes)
    } | figures | pillar_figures
    assert paths["/review"] is False
    assert paths["/settlement/{meal_programme_id:int}/statement"] is True
