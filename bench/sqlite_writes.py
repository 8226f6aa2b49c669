"""Concurrent writes on SQLite: our BEGIN IMMEDIATE engine against the driver's deferred default.

Each write is what a request does: read something, then insert a row and its audit event. The floor
is the same work done by one writer, one transaction after another, in the same run.
Prints a table and ends with: result sequential_tps=… immediate_tps=… immediate_errors=…
deferred_tps=… deferred_errors=… ratio=…  (ratio = immediate_tps / sequential_tps).
Never fails on a time; only on an error in the benchmark itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import audit
from backend.db import create_database
from backend.migrate import upgrade
from backend.people.models import Area, AreaLevel
from backend.settings import Settings

# Smaller figures for the CI smoke run: BENCH_WRITERS=4 BENCH_WRITES_EACH=3.
WRITERS = int(os.environ.get("BENCH_WRITERS", "32"))
WRITES_EACH = int(os.environ.get("BENCH_WRITES_EACH", "10"))


async def one_write(session_factory, n: int) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as db, db.begin():
        await db.scalar(select(func.count(Area.id)))
        area = Area(name=f"a{n}", level=AreaLevel.DISTRICT, path=f"/x{n}/")
        db.add(area)
        await db.flush()
        await audit.record(db, actor=None, action="bench.write", subject=area)


async def run(factory, writers: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    errors = 0
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal errors
        for _ in range(WRITES_EACH):
            try:
                await one_write(factory, next(counter))
            except OperationalError:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    return (writers * WRITES_EACH - errors) / elapsed, errors


def fresh_db(folder: Path, name: str) -> str:
    url = f"sqlite+aiosqlite:///{folder / name}"
    upgrade(url)  # Alembic runs its own event loop: called before ours starts
    return url


async def main(urls: dict[str, str]) -> None:
    results: dict[str, float] = {}

    settings = Settings(environment="test", database_url=urls["seq"], secret_key="b" * 40)
    database = create_database(settings)
    results["sequential_tps"], _ = await run(database.writer, 1)
    await database.dispose()

    settings = Settings(environment="test", database_url=urls["imm"], secret_key="b" * 40)
    database = create_database(settings)
    results["immediate_tps"], immediate_errors = await run(database.writer, WRITERS)
    await database.dispose()

    # The driver's default: WAL and the same busy timeout, but BEGIN (deferred) at the first statement.
    engine = create_async_engine(urls["def"], pool_size=8, max_overflow=8)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _deferred(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")

    results["deferred_tps"], deferred_errors = await run(
        async_sessionmaker(engine, expire_on_commit=False), WRITERS
    )
    await engine.dispose()

    ratio = results["immediate_tps"] / results["sequential_tps"]
    print(f"{WRITERS} concurrent writers x {WRITES_EACH} read-then-write transactions each")
    print(f"{'engine':<28}{'writes/s':>10}{'errors':>9}")
    print(f"{'one writer (floor)':<28}{results['sequential_tps']:>10.0f}{0:>9}")
    print(f"{'BEGIN IMMEDIATE (ours)':<28}{results['immediate_tps']:>10.0f}{immediate_errors:>9}")
    print(f"{'deferred BEGIN (default)':<28}{results['deferred_tps']:>10.0f}{deferred_errors:>9}")
    print(
        f"result sequential_tps={results['sequential_tps']:.0f} immediate_tps={results['immediate_tps']:.0f} "
        f"immediate_errors={immediate_errors} deferred_tps={results['deferred_tps']:.0f} "
        f"deferred_errors={deferred_errors} ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="carelog-bench-"))
    asyncio.run(main({name: fresh_db(folder, f"{name}.db") for name in ("seq", "imm", "def")}))
