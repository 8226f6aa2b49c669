"""Declarative base, engines and sessions.

SQLite is run the way a small server needs it: WAL (readers never block the writer), foreign keys
on, a busy timeout, and every write transaction opened with BEGIN IMMEDIATE. A deferred transaction
that reads and then writes cannot be given the write lock once another writer has committed after
its first read (SQLITE_BUSY at once, no waiting), which is where "database is locked" comes from;
taking the lock up front turns that into an orderly wait of at most the busy timeout.
Read-only work uses BEGIN DEFERRED, so pages keep reading while one writer writes (WAL), and on SQLite
it runs on the event loop's own thread (see _LoopThreadConnection) with writes refused
(`query_only`). Work that may read for long (exports, statements, reports, backups: `long_reads`)
keeps aiosqlite's thread, where a long statement holds up only its own request. On PostgreSQL page reads
have a pool of their own in autocommit, every statement read-only (see _postgresql_page_engine).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVarTuple

import aiosqlite
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    MetaData,
    and_,
    event,
    false,
    make_url,
)
from sqlalchemy.engine import Connection, Result
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.selectable import TypedReturnsRows

from backend.clock import utcnow as utcnow  # the app's clock, importable from here as before
from backend.settings import Settings
from backend.sql import matches_partial_index

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTimeUTC(timezone=True)}


_Ts = TypeVarTuple("_Ts")


async def read_columns(
    db: AsyncSession, statement: TypedReturnsRows[*_Ts], params: Mapping[str, Any] | None = None
) -> Result[*_Ts]:
    """Run a SELECT of plain columns (no mapped objects) on the session's connection, in its transaction,
    past the ORM's execution path, which for such a statement only adds work: 37 us of 241 for the
    review queue's meal cards (SQLite, 20 rows), and the queue page runs seven statements. Changes
    pending in the session are flushed first, as the ORM's autoflush would have done."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    connection = await db.connection()
    return await connection.execute(statement, params)


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PENDING = "pending"


class ReviewMarks:
    """What a review leaves on an entry (meal check-ins and visits; see verification/): who decided
    and when (statements print both beside each paid meal), and when a bulk approval held the entry
    back in its random sample, after which it must be opened and decided one by one."""

    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    sampled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The review queue's first sort key, kept as a column so its order can be read from an index
    # (migration 0014): verification.service.is_flagged of the entry while it is pending. Set when the
    # entry is sent (a meal's flags, a visit's reused photo) and when a bulk approval samples it.
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Both kinds of entry (CheckIn, Visit) have a `status` whose waiting value is "pending", and a
    # `superseded_at` set when a newer version replaces them.
    @classmethod
    def awaiting_review(cls) -> ColumnElement[bool]:
        """The pending-entry condition, written once: the current version, still waiting for review;
        in the form the partial indexes of migrations 0011 and 0012 match (sql.matches_partial_index)."""
        status = cls.status  # type: ignore[attr-defined]
        superseded_at = cls.superseded_at  # type: ignore[attr-defined]
        return and_(matches_partial_index(status, status.type.enum_class(PENDING)), superseded_at.is_(None))

    @property
    def is_awaiting_review(self) -> bool:
        return self.superseded_at is None and self.status == PENDING  # type: ignore[attr-defined]


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int, *, query_only: bool = False) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if query_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


class _LoopThreadConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the calling thread, the event loop's.

    aiosqlite hands every call to a thread of its own: opening a cursor, executing, fetching and closing
    each cost a hand-off and a wake-up of the loop, four per statement. The review queue's eight
    statements took 353 us each that way and 91 us on the loop's thread, of which SQLite's own work is a
    small part (0.7 ms of a page), and under load every hand-off waited for the GIL behind other requests:
    /review served 83 req/s with hand-offs and 132 without (bench/pages.py, two runs, each with its own
    ceiling: 328 and 319 req/s). The price is that a statement holds up the whole loop while it runs, so
    only short reads come here: a page's, in a read-only transaction in WAL mode, which never waits for
    the write lock (`query_only` refuses any write at once instead of queueing for the lock on this
    thread), with a short busy timeout for the rare wait SQLite can still ask of a reader. Reads that may
    run long stay on aiosqlite's thread (Database.transaction(long_reads=True)).

    Opening, closing and setting the isolation level still go through aiosqlite's thread, which each
    connection keeps; only _execute, which every other call goes through, is replaced (aiosqlite 0.22,
    pinned in pyproject; tests/functional/db/test_db_threads.py checks that statements run on the caller's
    thread and that the write engine's still do not)."""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


# The route option (app.py sets it on settlement, reports and the audit trail) under which deps.provide_db
# gives a GET request the long reader instead of the page reader.
LONG_READS_OPT = "long_reads"

# A reader on the loop's thread waits at most this long when SQLite asks it to (a reader in WAL mode
# is only made to wait during recovery or a truncating checkpoint): the whole server waits with it.
LOOP_READ_BUSY_TIMEOUT_MS = 200


def _loop_thread_engine(url: str, writer: AsyncEngine, **pool: Any) -> AsyncEngine:
    args, kwargs = writer.dialect.create_connect_args(make_url(url))  # what aiosqlite.connect gets
    connect_sqlite: Any = sqlite3.connect

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = connect_sqlite(*args, **kwargs)
        return connection

    async def connect() -> aiosqlite.Connection:
        connection = _LoopThreadConnection(connector, 64)
        connection._thread.daemon = True  # as SQLAlchemy does for its own aiosqlite connections
        return await connection

    return create_async_engine(url, async_creator=connect, **pool)


def _postgresql_page_engine(url: str) -> AsyncEngine:
    """PostgreSQL's page reader: a pool of its own whose connections run each statement on its own
    (autocommit), every one read-only (`default_transaction_read_only`, so a write there is refused
    by the server, as `query_only` does on SQLite).

    In a transaction, a page cost twelve round trips: the pool's liveness ping wrapped in a
    BEGIN and ROLLBACK of its own, then BEGIN, the statements, ROLLBACK. Here there is no BEGIN or
    ROLLBACK, and the ping only for a connection that sat idle (see _ping_when_idle): five for the review
    queue under load. Nothing is lost by it: at PostgreSQL's READ COMMITTED each statement of a
    transaction reads its own snapshot anyway. Work that reads long keeps the write engine
    (Database.transaction(long_reads=True)).

    Its pool is smaller than the writer's, since PostgreSQL's connections are counted per server
    (100 by default) and every instance and worker holds both pools. It keeps every connection it
    opened (see PAGE_READER_POOL)."""
    engine = create_async_engine(
        url,
        **PAGE_READER_POOL,
        hide_parameters=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
    )
    _ping_when_idle(engine)
    return engine


# The page readers' pools keep every connection they open: no overflow. SQLAlchemy closes an overflow
# connection as soon as it is handed back while the pool's core is idle, so a burst of more pages at
# once than the core (32 at once against 5 + 10 on PostgreSQL, 8 + 8 on SQLite) opened and closed
# connections page after page: a new asyncpg connection's handshake and type set-up, or a new
# aiosqlite thread and its pragmas. Measured in one process, 32 pages at a time: 5.1 -> 3.3 ms of app
# CPU a page on PostgreSQL, 12.65M -> 10.4M instructions a page on SQLite (callgrind; with one page at
# a time 10.7M). A page that finds every connection lent waits for one, which cost nothing measurable.
PAGE_READER_POOL: dict[str, Any] = {"pool_size": 15, "max_overflow": 0, "pool_timeout": 30}
SQLITE_PAGE_READER_POOL: dict[str, Any] = {**PAGE_READER_POOL, "pool_size": 16}
# PostgreSQL's writer (and long reader): its overflow is closed when handed back, as above; writes come
# in bursts rather than page after page, and this pool has not been measured for it.
POSTGRESQL_WRITER_POOL: dict[str, Any] = {"pool_size": 10, "max_overflow": 10}

# A page reader's connection handed back to the pool less than this long ago is lent again without a
# ping. The ping is a round trip of its own: 7% of the review queue's CPU in the app (0.47M of 6.47M
# instructions a page, callgrind) and one of its six trips to PostgreSQL.
PING_IDLE_AFTER_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that sat idle only.

    A connection that served a request a moment ago is almost always still there. When it is not (the
    server restarted within those seconds), the statement fails, SQLAlchemy sees the disconnect and
    replaces every older connection of the pool, and that one request is answered "busy, try again"
    (503, error_pages.handle_database_error), never a 500; tests/functional/db/test_page_reader.py
    restarts the connections under a live app to hold this."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is not None and time.monotonic() - returned < PING_IDLE_AFTER_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as gone:  # the pool then drops this connection and lends a fresh one
            raise DisconnectionError("a pooled page reader did not answer its ping") from gone


@dataclass(frozen=True, slots=True)
class Database:
    """The write engine, the page reader and the long reader. The page reader has a pool of its own: on
    SQLite on the loop's thread (see _LoopThreadConnection), on PostgreSQL in autocommit (see
    _postgresql_page_engine). The long reader shares the writer's pool."""

    engine: AsyncEngine
    read_engine: AsyncEngine
    writer: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]
    long_reader: async_sessionmaker[AsyncSession]
    # How many requests may hold a read session while they receive a body and then open a write
    # transaction too: each holds two pooled connections at its peak, so this stays under half the
    # pool, or requests holding one connection each would all wait for a second (a deadlock until the
    # pool times out). See deps.provide_read_db. The two now come from different pools (page reads have
    # their own on both engines), where the bound is only a cap on uploads at once; it is kept as such.
    upload_slots: int = 6

    @asynccontextmanager
    async def transaction(
        self, *, read_only: bool = False, long_reads: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back on any exception.
        A read-only unit whose statements may run long (whole months, exports) passes `long_reads`."""
        factory = (self.long_reader if long_reads else self.reader) if read_only else self.writer
        async with factory() as session:
            try:
                yield session
                # A read-only unit ends by closing: the pool rolls the connection back, and loaded
                # objects keep their attributes (an explicit rollback would expire them).
                if not read_only:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()


def create_database(settings: Settings) -> Database:
    url = settings.database_url
    if settings.is_sqlite:
        pool: dict[str, Any] = {
            "pool_size": 8,
            "max_overflow": 8,
            "pool_timeout": 30,
            "hide_parameters": True,
        }
        engine = create_async_engine(url, **pool)
        _install_sqlite_pragmas(engine, settings.sqlite_busy_timeout_ms)
        long_read_engine = engine.execution_options(sqlite_begin="DEFERRED")
        page_engine = _loop_thread_engine(url, engine, **SQLITE_PAGE_READER_POOL, hide_parameters=True)
        _install_sqlite_pragmas(page_engine, LOOP_READ_BUSY_TIMEOUT_MS, query_only=True)
        read_engine = page_engine.execution_options(sqlite_begin="DEFERRED")
    else:
        engine = create_async_engine(url, **POSTGRESQL_WRITER_POOL, pool_pre_ping=True, hide_parameters=True)
        long_read_engine = engine
        read_engine = _postgresql_page_engine(url)
    size = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    return Database(
        engine=engine,
        read_engine=read_engine,
        writer=async_sessionmaker(engine, expire_on_commit=False),
        reader=async_sessionmaker(read_engine, expire_on_commit=False),
        long_reader=async_sessionmaker(long_read_engine, expire_on_commit=False),
        upload_slots=max(1, size // 2 - 2),
    )
