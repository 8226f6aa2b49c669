"""Data at province scale: a million meal check-ins with their photos' rows over ten thousand agreements.

For each database (SQLite, then PostgreSQL) the generator fills a fresh, migrated database: one meal
programme over a district of 10 streets and 50 communities, a social worker per street, 10,000
residents, neighbours and agreements, and for each agreement lunches over four months (the last three
reviewed, the current one mostly reviewed with its last days pending), each with one photo row. Then
it times, as the app runs them (median of BENCH_ROUNDS):
- queue: a street social worker's review queue (count and first page of cards, with photos and the
  week-before strips),
- district queue: the same for a social worker of the whole district (every street's pending: the
  widest count a page runs on the event loop's thread, as her navigation badge does on every page),
- history: a neighbour's history page data for last month,
- settle: closing last month for the whole programme: the pending check, then one ledger line per
  agreement (its meals and capped amount, about 10,000 lines from some 310,000 approved check-ins,
  one INSERT ... SELECT ... GROUP BY) and the audit event; rolled back after each round so every
  round settles the same month. Before migration 0013 closing wrote one line per meal: 11.8 s on
  PostgreSQL, 4.43 s on SQLite; after it 0.69 s and 1.02 s (BENCH_ROUNDS=3, loaded 2-core machine).
The floor is a primary-key look-up on the same database in the same run; ratios are to it.
Prints a table and, per database, a line `result db=… queue_ms=… history_ms=… settle_ms=… …`; the
last line is PostgreSQL's. Targets (issue 9): queue ≤ 20 ms, settle ≤ 3 s. Never fails on a time.

Smaller runs: BENCH_AGREEMENTS=50 BENCH_CHECKINS=2000 BENCH_ROUNDS=1 BENCH_DATABASES=sqlite.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, select, text
from sqlalchemy.orm import selectinload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.auth.principal import Grant, Principal
from backend.clock import add_months, month_days
from backend.db import Database, create_database
from backend.evidence.models import CaptureSource, Photo
from backend.meals.models import Agreement, AgreementStatus, CheckIn, CheckInPhoto, CheckInStatus, MealSlot
from backend.meals.queries import history_for_neighbour
from backend.migrate import upgrade
from backend.people.models import Membership, Person, PersonKind, Programme, ProgrammeKind, Role, User
from backend.people.service import do_add_membership, do_create_area, do_create_programme, do_create_user
from backend.settings import Settings
from backend.verification.queue import load_queue

AGREEMENTS = int(os.environ.get("BENCH_AGREEMENTS", "10000"))
CHECKINS = int(os.environ.get("BENCH_CHECKINS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_ADMIN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
STREETS, COMMUNITIES_PER_STREET = 10, 5
BATCH = 5000
ZONE_OFFSET = timedelta(hours=8)  # Asia/Shanghai, the programme's zone


def _today() -> date:
    return (datetime.now(UTC) + ZONE_OFFSET).date()


def _principal(user: User, memberships: list[Membership]) -> Principal:
    grants = tuple(
        Grant(m.programme_id, m.programme.name, m.programme.kind, m.role, m.area_id, m.area.path, m.area.name)
        for m in memberships
    )
    return Principal(user.id, 0, user.display_name, None, user.is_admin, grants)


async def _principal_of(database: Database, user_id: int) -> Principal:
    async with database.transaction(read_only=True) as db:
        user = await db.get_one(User, user_id)
        memberships = list(
            await db.scalars(
                select(Membership)
                .where(Membership.user_id == user_id)
                .options(selectinload(Membership.programme), selectinload(Membership.area))
            )
        )
    return _principal(user, memberships)


async def _structure(database: Database) -> tuple[int, list[int], list[int], int, int]:
    """Programme, areas and social workers through the real services; returns ids for the bulk load."""
    async with database.transaction() as db:
        district = await do_create_area(db, name="基准区", parent=None, actor=None)
        programme = await do_create_programme(
            db,
            name="基准送餐",
            kind=ProgrammeKind.NEIGHBOUR_MEALS,
            area=district,
            actor=None,
            time_zone="Asia/Shanghai",
        )
        communities, workers = [], []
        for s in range(STREETS):
            street = await do_create_area(db, name=f"街道{s}", parent=district, actor=None)
            worker = await do_create_user(db, handle=f"bench-sw-{s}", display_name=f"社工{s}", actor=None)
            await do_add_membership(
                db, user=worker, programme=programme, area=street, role=Role.SOCIAL_WORKER, actor=None
            )
            workers.append(worker.id)
            for c in range(COMMUNITIES_PER_STREET):
                community = await do_create_area(db, name=f"社区{s}-{c}", parent=street, actor=None)
                communities.append(community.id)
        staff = await do_create_user(db, handle="bench-staff", display_name="职员", actor=None)
        await do_add_membership(
            db, user=staff, programme=programme, area=district, role=Role.STAFF, actor=None
        )
        # A social worker of the whole district: her queue and badge count every street's pending.
        wide = await do_create_user(db, handle="bench-sw-district", display_name="区社工", actor=None)
        await do_add_membership(
            db, user=wide, programme=programme, area=district, role=Role.SOCIAL_WORKER, actor=None
        )
        return programme.id, communities, workers, staff.id, wide.id


async def _bulk(database: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    async with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A load, not app traffic: the per-row closed-month triggers are not what is measured.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for start in range(0, len(rows), BATCH):
            await conn.execute(insert(table), rows[start : start + BATCH])


async def generate(database: Database) -> dict[str, Any]:
    programme_id, communities, workers, staff_id, district_worker = await _structure(database)
    now = datetime.now(UTC)
    today = _today()
    first_user = 100_000
    users = [
        {
            "id": first_user + n,
            "handle": f"bench-nb-{n}",
            "display_name": f"邻居{n}",
            "is_active": True,
            "is_admin": False,
            "created_at": now,
        }
        for n in range(AGREEMENTS)
    ]
    await _bulk(database, User.__table__, users)
    await _bulk(
        database,
        Membership.__table__,
        [
            {
                "user_id": first_user + n,
                "programme_id": programme_id,
                "area_id": communities[n % len(communities)],
                "role": Role.NEIGHBOUR,
                "created_at": now,
            }
            for n in range(AGREEMENTS)
        ],
    )
    people = [
        {
            "id": first_user + n,
            "programme_id": programme_id,
            "area_id": communities[n % len(communities)],
            "kind": PersonKind.RESIDENT,
            "display_name": f"居民{n}",
            "birth_year": 1940,
            "created_at": now,
        }
        for n in range(AGREEMENTS)
    ]
    await _bulk(database, Person.__table__, people)
    starts = add_months(today.replace(day=1), -3)
    street_of = [(n % len(communities)) // COMMUNITIES_PER_STREET for n in range(AGREEMENTS)]
    await _bulk(
        database,
        Agreement.__table__,
        [
            {
                "id": first_user + n,
                "programme_id": programme_id,
                "resident_id": first_user + n,
                "neighbour_id": first_user + n,
                "social_worker_id": workers[street_of[n]],
                "rate_fen": 1500,
                "monthly_cap_fen": 45000,
                "starts_on": starts,
                "status": AgreementStatus.ACTIVE,
                "created_at": now,
                "serves_lunch": True,
                "serves_dinner": False,
                "neighbour_confirmed_at": now,
                "resident_confirmed_at": now,
                "resident_signatory": "resident",
            }
            for n in range(AGREEMENTS)
        ],
    )
    # Days: three whole months, then this month up to yesterday; as many per agreement as asked for.
    days = [d for m in range(-3, 1) for d in month_days(add_months(today.replace(day=1), m)) if d < today]
    per_agreement = max(1, CHECKINS // AGREEMENTS)
    days = days[-per_agreement:]
    pending_from = today - timedelta(days=5)
    made = 0
    checkin_id = photo_id = 1
    for block in range(0, AGREEMENTS, 500):
        photos, checkins, links = [], [], []
        for n in range(block, min(block + 500, AGREEMENTS)):
            agreement = first_user + n
            for day in days:
                at = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
                digest = f"{photo_id:064x}"
                photos.append(
                    {
                        "id": photo_id,
                        "client_uuid": uuid.uuid4(),
                        "uploaded_by_id": agreement,
                        "subject_person_id": agreement,
                        "programme_id": programme_id,
                        "area_id": None,
                        "received_sha256": digest,
                        "received_bytes": 400_000,
                        "received_format": "JPEG",
                        "received_width": 4032,
                        "received_height": 3024,
                        "original_kept": False,
                        "display_sha256": digest,
                        "display_bytes": 180_000,
                        "display_width": 1600,
                        "display_height": 1200,
                        "thumb_sha256": digest,
                        "thumb_bytes": 9_000,
                        "thumb_width": 320,
                        "thumb_height": 240,
                        "phash": photo_id,
                        "captured_at": at,
                        "capture_source": CaptureSource.EXIF,
                        "created_at": at,
                    }
                )
                pending = day >= pending_from
                checkins.append(
                    {
                        "id": checkin_id,
                        "client_uuid": uuid.uuid4(),
                        "agreement_id": agreement,
                        "programme_id": programme_id,
                        "resident_id": agreement,
                        "neighbour_id": agreement,
                        "day": day,
                        "slot": MealSlot.LUNCH,
                        "dishes": ["米饭", "青菜"],
                        "planned_dishes": [],
                        "content_sha256": digest,
                        "submitted_at": at + timedelta(minutes=20),
                        "status": CheckInStatus.PENDING if pending else CheckInStatus.APPROVED,
                        "reviewed_by_id": None if pending else workers[street_of[n]],
                        "reviewed_at": None if pending else at + timedelta(hours=5),
                        "created_at": at,
                    }
                )
                links.append({"checkin_id": checkin_id, "photo_id": photo_id, "position": 1})
                checkin_id += 1
                photo_id += 1
        await _bulk(database, Photo.__table__, photos)
        await _bulk(database, CheckIn.__table__, checkins)
        await _bulk(database, CheckInPhoto.__table__, links)
        made += len(checkins)
    async with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("user_account", "person", "meal_agreement", "photo", "meal_checkin"):
                # Table names from the tuple above, never from input.
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                highest = f"SELECT max(id) FROM {table}"  # noqa: S608
                await conn.execute(text(f"SELECT setval({sequence}, ({highest}))"))
        # SQLite is not analyzed: Carelog never runs ANALYZE there, so a live database has no
        # statistics. With them (as this bench had until 2026-11-26) the figures were no better:
        # queue 3.19 / history 5.59 ms / settle 0.57 s, against 2.61 / 4.02 ms / 0.53 s without.
    if database.engine.dialect.name == "postgresql":
        # VACUUM as well as ANALYZE: a running database's autovacuum has long since marked the pages of
        # a month-old bulk of rows all-visible (PostgreSQL 13+ vacuums after inserts too). Without it,
        # every index-only scan of the queue's count visits the table for each row (5,000 heap
        # fetches), which a live server does not.
        async with database.engine.connect() as conn:
            vacuum = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await vacuum.execute(text("VACUUM ANALYZE"))
    return {
        "programme_id": programme_id,
        "workers": workers,
        "district_worker": district_worker,
        "staff_id": staff_id,
        "checkins": made,
        "neighbour_id": first_user,
        "month": add_months(today.replace(day=1), -1),
    }


async def _median_ms(rounds: int, step: Callable[[], Awaitable[Any]]) -> float:
    await step()  # warm caches and the statement cache, as a running server has them
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(database: Database, facts: dict[str, Any]) -> dict[str, float]:
    worker = await _principal_of(database, facts["workers"][0])
    district_worker = await _principal_of(database, facts["district_worker"])
    neighbour = await _principal_of(database, facts["neighbour_id"])
    staff = await _principal_of(database, facts["staff_id"])

    async def floor() -> None:
        async with database.transaction(read_only=True) as db:
            await db.scalar(select(CheckIn.status).where(CheckIn.id == 12345))

    async def queue() -> None:
        async with database.transaction(read_only=True) as db:
            page = await load_queue(db, worker)
            assert page.total > 0 and page.cards

    async def district_queue() -> None:
        async with database.transaction(read_only=True) as db:
            page = await load_queue(db, district_worker)
            assert page.total > 0 and page.cards

    async def history() -> None:
        async with database.transaction(read_only=True) as db:
            data = await history_for_neighbour(db, neighbour, facts["month"])
            assert data.checkins

    settle = await _settle_step(database, facts, staff)
    return {
        "floor_ms": await _median_ms(max(ROUNDS, 5) * 4, floor),
        "queue_ms": await _median_ms(ROUNDS, queue),
        "district_queue_ms": await _median_ms(ROUNDS, district_queue),
        "history_ms": await _median_ms(ROUNDS, history),
        "settle_ms": await _median_ms(max(1, ROUNDS // 2), settle),
    }


async def _settle_step(
    database: Database, facts: dict[str, Any], staff: Principal
) -> Callable[[], Awaitable[Any]]:
    from backend.settlement import service

    async def settle() -> None:
        # Close the month for real, then roll back, so that every round settles the same month.
        async with database.writer() as db:
            try:
                programme = await db.get_one(Programme, facts["programme_id"])
                await service.do_close_month(db, programme, facts["month"], actor=staff)
            finally:
                await db.rollback()

    return settle


async def one_database(kind: str) -> dict[str, float]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="carelog-scale-")
        url = f"sqlite+aiosqlite:///{folder}/scale.db"
        cleanup: Callable[[], Awaitable[None]] | None = None
    else:
        name = f"carelog_scale_{os.getpid()}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        base = PG_ADMIN.rsplit("/", 1)[0]
        url = "postgresql+asyncpg://" + f"{base}/{name}".split("://", 1)[1]

        async def cleanup() -> None:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.close()

    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        environment="test", database_url=url, photo_store_url="memory://", secret_key="x" * 40
    )
    database = create_database(settings)
    try:
        started = time.perf_counter()
        facts = await generate(database)
        generated_s = time.perf_counter() - started
        figures = await measure(database, facts)
    finally:
        await database.dispose()
        if cleanup is not None:
            await cleanup()
    figures["generate_s"] = generated_s
    figures["checkins"] = float(facts["checkins"])
    return figures


def main() -> None:
    lines = []
    heads = ("check-ins", "gen s", "floor ms", "queue ms", "district q", "history ms", "settle ms")
    print(f"{'db':<11}" + "".join(f"{h:>12}" for h in heads))
    for kind in DATABASES:
        f = asyncio.run(one_database(kind.strip()))
        print(
            f"{kind:<11}{int(f['checkins']):>12}{f['generate_s']:>12.1f}{f['floor_ms']:>12.2f}"
            f"{f['queue_ms']:>12.2f}{f['district_queue_ms']:>12.2f}{f['history_ms']:>12.2f}"
            f"{f['settle_ms']:>12.1f}"
        )
        lines.append(
            f"result db={kind.strip()} checkins={int(f['checkins'])} queue_ms={f['queue_ms']:.2f} "
            f"district_queue_ms={f['district_queue_ms']:.2f} "
            f"history_ms={f['history_ms']:.2f} settle_ms={f['settle_ms']:.1f} floor_ms={f['floor_ms']:.3f} "
            f"queue_ratio={f['queue_ms'] / f['floor_ms']:.1f} "
            f"settle_ratio={f['settle_ms'] / f['floor_ms']:.0f}"
        )
    print("targets: queue_ms <= 20, settle_ms <= 3000 (a month of 10,000 agreements)")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
