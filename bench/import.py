"""Registry import: a generated XLSX of BENCH_IMPORT_ROWS rows (default 10,000: guardians and their
children), checked (the dry run) and committed through backend/people/import_service.py, on SQLite and
on PostgreSQL, each in a fresh migrated database.

The floor, measured in the same run on the same database: read the same file with openpyxl (read-only,
values only) and insert the same rows into `person` with one bare executemany, no checks, no audit.
The ratio is the import's time (dry run + commit) over the floor's; the target is at most 3.

    .venv/bin/python bench/import.py        # BENCH_IMPORT_ROWS, BENCH_DATABASES=sqlite,postgresql
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.db import Database, create_database
from backend.migrate import upgrade
from backend.people.import_service import check_file, do_commit_plan, get_plan_for, importer_for
from backend.people.models import Person, PersonKind, Programme, ProgrammeKind
from backend.people.registry_table import COLUMNS
from backend.people.service import do_create_area, do_create_programme
from backend.settings import Settings

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_ADMIN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
COMMUNITIES = (("东街道", "甲社区"), ("东街道", "乙社区"), ("西街道", "丙社区"))


def workbook(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名册")
    sheet.append(list(COLUMNS))
    for i in range(rows // 2):
        street, community = COMMUNITIES[i % len(COMMUNITIES)]
        area = f"{street}/{community}"
        sheet.append([f"G{i:06d}", "监护人", f"监护人{i}", "1980", area, "", "", f"电话 1380013{i:04d}"])
        sheet.append([f"C{i:06d}", "儿童", f"儿童{i}", "2015", area, f"G{i:06d}", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def setup(database: Database) -> int:
    async with database.transaction() as db:
        district = await do_create_area(db, name="基准区", parent=None, actor=None)
        streets = {}
        for street, community in COMMUNITIES:
            if street not in streets:
                streets[street] = await do_create_area(db, name=street, parent=district, actor=None)
            await do_create_area(db, name=community, parent=streets[street], actor=None)
        programme = await do_create_programme(
            db,
            name="基准项目",
            kind=ProgrammeKind.CARING_MOTHERS,
            area=district,
            actor=None,
            time_zone="Asia/Shanghai",
        )
        return programme.id


async def floor(database: Database, data: bytes, programme_id: int) -> tuple[float, float]:
    async with database.transaction() as db:
        area_id = await db.scalar(select(Programme.area_id).where(Programme.id == programme_id))
    started = time.perf_counter()
    book = load_workbook(io.BytesIO(data), read_only=True)
    values = [
        [str(v) if v is not None else "" for v in row]
        for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)
    ]
    book.close()
    read_s = time.perf_counter() - started
    async with database.transaction() as db:
        # Core, not the ORM: the ORM's bulk insert leaves out None values that have a default, which
        # splits rows with and without a note into one statement each.
        await db.execute(
            insert(Person.__table__),
            [
                {
                    "programme_id": programme_id,
                    "area_id": area_id,
                    "kind": PersonKind.GUARDIAN if row[1] == "监护人" else PersonKind.CHILD,
                    "display_name": row[2],
                    "birth_year": int(row[3]),
                    "reference": "floor-" + row[0],
                    "note": row[7] or None,
                }
                for row in values
            ],
        )
    elapsed = time.perf_counter() - started
    async with database.transaction() as db:  # the import starts from an empty registry
        await db.execute(delete(Person).where(Person.programme_id == programme_id))
    return elapsed, read_s


async def import_file(database: Database, data: bytes, programme_id: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    async with database.transaction() as db:
        programme = await db.get_one(Programme, programme_id)
        importer = await importer_for(db, None, programme)
        plan = await check_file(db, programme, data, importer=importer)
    checked = time.perf_counter()
    assert not plan.errors and plan.plan_id is not None, plan.errors[:3]
    async with database.transaction() as db:
        programme = await db.get_one(Programme, programme_id)
        importer = await importer_for(db, None, programme)
        done = await do_commit_plan(db, await get_plan_for(db, plan.plan_id, actor=None), importer=importer)
    committed = time.perf_counter()
    return checked - started, committed - checked, done.count("create")


async def one_database(kind: str, data: bytes) -> dict[str, float]:
    cleanup: Callable[[], Awaitable[None]] | None = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='carelog-import-')}/import.db"
    else:
        name = f"carelog_import_{os.getpid()}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = "postgresql+asyncpg://" + f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}".split("://", 1)[1]

        async def cleanup() -> None:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.close()

    await asyncio.to_thread(upgrade, url)
    database = create_database(
        Settings(environment="test", database_url=url, photo_store_url="memory://", secret_key="x" * 40)
    )
    try:
        programme_id = await setup(database)
        floor_s, read_s = await floor(database, data, programme_id)
        check_s, commit_s, created = await import_file(database, data, programme_id)
    finally:
        await database.dispose()
        if cleanup is not None:
            await cleanup()
    assert created == ROWS // 2 * 2, created
    return {"floor_s": floor_s, "read_s": read_s, "check_s": check_s, "commit_s": commit_s}


def main() -> None:
    data = workbook(ROWS)
    print(f"{'db':<11}{'rows':>8}{'floor s':>10}{'(read s)':>10}{'check s':>10}{'commit s':>10}{'ratio':>8}")
    ratios = {}
    for kind in (k.strip() for k in DATABASES):
        f = asyncio.run(one_database(kind, data))
        ratios[kind] = (f["check_s"] + f["commit_s"]) / f["floor_s"]
        print(
            f"{kind:<11}{ROWS:>8}{f['floor_s']:>10.2f}{f['read_s']:>10.2f}{f['check_s']:>10.2f}"
            f"{f['commit_s']:>10.2f}"
            f"{ratios[kind]:>8.1f}"
        )
    print(f"result rows={ROWS} " + " ".join(f"ratio_{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
