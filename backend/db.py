"""Declarative base, engines and sessions.

SQLite is run the way a small server needs it: WAL (readers never block the writer), foreign keys
on, a busy timeout, and every write transaction opened with BEGIN IMMEDIATE. A deferred transaction
that reads and then writes cannot be given the write lock once another writer has committed after
its first read (SQLITE_BUSY at once, no waiting), which is where "database is locked" comes from;
taking the lock up front turns that into an orderly wait of at most the busy timeout.
Read-only work (GET requests) uses a second engine over the same pool with BEGIN DEFERRED, so pages
keep reading while one writer writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, MetaData, bindparam, event, false
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.settings import Settings

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


def utcnow() -> datetime:
    return datetime.now(UTC)


def matches_partial_index(column: Any, value: Any) -> Any:
    """`column = value` with the value written into the SQL rather than bound. A partial index's WHERE
    (such as `status = 'pending'`, migrations 0011 and 0012) is matched against the query's text, so
    only then do SQLite and PostgreSQL's generic plans use the index without visiting the table."""
    return column == bindparam(None, value, type_=column.type, literal_execute=True)


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


@dataclass(frozen=True, slots=True)
class Database:
    """The write engine and a read engine (same pool); on PostgreSQL they behave alike."""

    engine: AsyncEngine
    read_engine: AsyncEngine
    writer: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]
    # How many requests may hold a read session while they receive a body and then open a write
    # transaction too: each holds two pooled connections at its peak, so this stays under half the
    # pool, or requests holding one connection each would all wait for a second (a deadlock until the
    # pool times out). See deps.provide_read_db.
    upload_slots: int = 6

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back on any exception."""
        factory = self.reader if read_only else self.writer
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


def create_database(settings: Settings) -> Database:
    url = settings.database_url
    if settings.is_sqlite:
        engine = create_async_engine(url, pool_size=8, max_overflow=8, pool_timeout=30, hide_parameters=True)
        _install_sqlite_pragmas(engine, settings.sqlite_busy_timeout_ms)
        read_engine = engine.execution_options(sqlite_begin="DEFERRED")
    else:
        engine = create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
        )
        read_engine = engine
    pool = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    return Database(
        engine=engine,
        read_engine=read_engine,
        writer=async_sessionmaker(engine, expire_on_commit=False),
        reader=async_sessionmaker(read_engine, expire_on_commit=False),
        upload_slots=max(1, pool // 2 - 2),
    )
