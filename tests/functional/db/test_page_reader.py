"""The page reader on both engines: the read-only sessions GET requests get (db.Database.reader).
On SQLite it runs on the event loop's thread with `query_only` (test_db_threads.py has the rest); on
PostgreSQL it is a pool of its own in autocommit with every statement read-only, which took the
BEGIN, the ROLLBACK and the ping's own transaction out of each page (db._postgresql_page_engine)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from litestar import get
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import db as db_module
from backend.app import create_app
from backend.db import Database, create_database
from backend.settings import Settings
from tests import personas
from tests.conftest import BASE_URL, ClientAs, World


async def test_a_page_read_refuses_to_write(database: Database) -> None:
    async with database.transaction(read_only=True) as db:
        with pytest.raises(DBAPIError):
            await db.execute(text("CREATE TABLE scratch_refused (n INTEGER)"))
    sqlite = database.engine.dialect.name == "sqlite"
    tables = "SELECT name FROM sqlite_master" if sqlite else "SELECT tablename FROM pg_tables"
    async with database.transaction(read_only=True) as db:  # and nothing was made
        assert "scratch_refused" not in (await db.execute(text(tables))).scalars().all()


async def test_postgresql_page_reads_run_each_statement_read_only_outside_a_transaction(
    database: Database,
) -> None:
    async with database.transaction(read_only=True) as db:
        connection = await db.connection()
        if connection.dialect.name != "postgresql":
            return
        assert (await db.execute(text("SHOW default_transaction_read_only"))).scalar_one() == "on"
        assert not (await connection.get_raw_connection()).driver_connection.is_in_transaction()
    async with database.transaction() as db:  # the writer is untouched
        assert (await db.execute(text("SHOW default_transaction_read_only"))).scalar_one() == "off"
        raw = await (await db.connection()).get_raw_connection()
        assert raw.driver_connection.is_in_transaction()


async def test_a_get_route_that_writes_through_its_session_is_a_logged_500_not_a_busy_503(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A write on the page reader is refused at once (`query_only` on SQLite, a read-only statement on
    PostgreSQL). That is a bug in the route, so it must not pass for "busy, try again" (503), which
    phones retry and logs keep at WARNING."""

    @get("/bench-only/writes-in-a-get")
    async def writes_in_a_get(db: NamedDependency[AsyncSession]) -> str:
        await db.execute(text("CREATE TABLE scratch_in_a_get (n INTEGER)"))
        return "written"

    app = create_app(settings)
    app.register(writes_in_a_get)
    with caplog.at_level(logging.ERROR):
        async with AsyncTestClient(app, base_url=BASE_URL) as client:
            response = await client.get("/bench-only/writes-in-a-get", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert any(r.levelno == logging.ERROR and "unhandled error" in r.getMessage() for r in caplog.records)


async def _end_the_apps_connections(settings: Settings) -> int:
    """What a restart of PostgreSQL does to the app: every connection it holds is closed under it."""
    conn = await asyncpg.connect("postgresql://" + settings.database_url.split("://", 1)[1])
    try:
        ended = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return len(ended)


@pytest.mark.parametrize("ping_idle_after_s", [0.0, 3600.0])
async def test_a_postgresql_restart_costs_a_page_at_most_one_busy_answer_and_never_a_500(
    settings: Settings,
    client_as: ClientAs,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    ping_idle_after_s: float,
) -> None:
    """The page reader pings only a connection that sat idle (db._ping_when_idle). Pinged (0 s), a
    connection closed under the app is replaced before the page reads; not pinged (an hour), the page's
    statement fails, and that one answer is a logged 503, after which the pool has replaced every
    connection and the next page is served."""
    if not settings.database_url.startswith("postgresql"):
        return  # SQLite has no server to lose; its page reader never pings
    monkeypatch.setattr(db_module, "PING_IDLE_AFTER_S", ping_idle_after_s)
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await worker.get("/review")).status_code == 200
    assert await _end_the_apps_connections(settings) > 0
    with caplog.at_level(logging.WARNING):
        first = await worker.get("/review")
    if ping_idle_after_s:
        assert first.status_code == 503, first.text
        assert "retry-after" in first.headers
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
    else:
        assert first.status_code == 200
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert (await worker.get("/review")).status_code == 200


async def test_a_burst_of_pages_beyond_the_readers_pool_opens_no_extra_connection_and_closes_none(
    settings: Settings, world: World
) -> None:
    """More page reads at once than the reader keeps connections: the others wait for one. With an
    overflow, each burst opened connections and closed them again when handed back (db.PAGE_READER_POOL:
    1.7 ms of the app's CPU a page on PostgreSQL at 32 pages at a time)."""
    database = create_database(settings)
    opened: list[object] = []
    closed: list[object] = []
    event.listen(database.read_engine.sync_engine, "connect", lambda *_: opened.append(1))
    event.listen(database.read_engine.sync_engine, "close", lambda *_: closed.append(1))
    keeps = database.read_engine.sync_engine.pool.size()

    async def page() -> int:
        async with database.transaction(read_only=True) as db:
            count = await db.scalar(text("SELECT count(*) FROM person"))
            await asyncio.sleep(0.01)  # the page renders while it holds its connection
            return int(count or 0)

    try:
        for _burst in range(3):
            counts = await asyncio.gather(*(page() for _ in range(2 * keeps + 3)))
            assert set(counts) == {counts[0]} and counts[0] > 0
    finally:
        await database.dispose()
    assert 0 < len(opened) <= keeps
    assert len(closed) == len(opened)  # closed only when the pool itself was disposed, at the end
