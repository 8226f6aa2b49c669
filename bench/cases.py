"""Case work at province scale: 500 social-work stations, 1,000 workers, 200,000 cases, 2,000,000 deliveries.

For each database (SQLite, then PostgreSQL) the generator fills a fresh, migrated database: one
social-work-station programme over a province of cities, districts and `BENCH_STATIONS` (500) street
stations, two social workers and one hardship scout per station, and over the past year
`BENCH_CASES` (200,000) cases, each with its person and the order it was taken from (sources mixed,
taken a few hours after it was made), an assessment, two goals and two plan items once planned, and
`BENCH_DELIVERIES` (2,000,000) deliveries over the cases in service or closed (reviewed, but for the
last week's); plus `BENCH_OPEN_ORDERS` (20,000) untaken orders of the last month in the stations'
queues. Stages are mixed as a live province has them (most cases opened more than half a year ago are
closed, with an outcome per goal). Rows are loaded in bulk: COPY on PostgreSQL, executemany of
prepared rows on SQLite, each value through the column's own SQLAlchemy bind processing.

Then it times, as the app runs them (median of BENCH_ROUNDS, after one warming run):
- queue: a station worker's order queue (`order_queries.list_queue` for her),
- cases: her case list, first page (`lists.list_cases`, the cases she leads),
- report: the province-wide quarter report of last quarter (`station_figures` as the programme's staff).
The floor is a primary-key look-up on the same database in the same run, as bench/scale.py measures it.
Prints a table and, per database, a line `result db=… queue_ms=… cases_ms=… report_s=… …`; the last
line is the worse of the two engines on each figure. Targets (issue 20): queue and case list ≤ 20 ms,
report ≤ 5 s. Never fails on a time.

Smaller runs: BENCH_STATIONS=5 BENCH_CASES=2000 BENCH_DELIVERIES=20000 BENCH_OPEN_ORDERS=200
BENCH_ROUNDS=1 BENCH_DATABASES=sqlite.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Table, select, text
from sqlalchemy.orm import selectinload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.auth.principal import Grant, Principal
from backend.cases.models import (
    Assessment,
    Case,
    CaseDimension,
    CaseOrder,
    CaseStatus,
    CloseReason,
    DelivererKind,
    Delivery,
    DeliveryStatus,
    Frequency,
    Goal,
    GoalOutcome,
    OrderCategory,
    OrderSource,
    OrderStatus,
    PlanItem,
    ReferrerKind,
    ServiceItem,
)
from backend.db import Database, create_database
from backend.migrate import upgrade
from backend.people.models import (
    Area,
    AreaLevel,
    Membership,
    Person,
    PersonKind,
    ProgrammeKind,
    Role,
    User,
)
from backend.people.service import do_add_membership, do_create_area, do_create_programme, do_create_user
from backend.settings import Settings

STATIONS = int(os.environ.get("BENCH_STATIONS", "500"))
CASES = int(os.environ.get("BENCH_CASES", "200000"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "2000000"))
OPEN_ORDERS = int(os.environ.get("BENCH_OPEN_ORDERS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_ADMIN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
STATIONS_PER_DISTRICT, DISTRICTS_PER_CITY = 10, 5
WORKERS_PER_STATION = 2
BLOCK = 20_000  # cases generated (and their rows loaded) at a time: memory stays flat
FIRST_ID = 100_000  # ids of bulk rows start here, clear of those the services made
YEAR = timedelta(days=365)


# ---------- bulk loading ----------


def _bind(table: Table, columns: Sequence[str], dialect: Any) -> list[Callable[[Any], Any] | None]:
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _with_defaults(table: Table, columns: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
    """The table's other columns that have a Python-side scalar or callable default (the ORM applies them,
    a bulk load must): their names and one value each. Server defaults are left to the database."""
    extra, values = [], []
    for column in table.columns:
        if column.name in columns or column.default is None or column.primary_key:
            continue
        default: Any = column.default
        if default.is_scalar:
            value = default.arg
        elif default.is_callable:
            try:
                value = default.arg(None)
            except TypeError:
                value = default.arg()
        else:
            continue
        extra.append(column.name)
        values.append(value.value if hasattr(value, "value") else value)
    return extra, tuple(values)


class Loader:
    """Inserts prepared tuples into a table: COPY on PostgreSQL, a sqlite3 executemany on SQLite."""

    def __init__(self, database: Database, sqlite_path: str | None) -> None:
        self.database = database
        self.sqlite_path = sqlite_path
        self.dialect = database.engine.dialect
        self.rows = 0

    async def load(self, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        extra, values = _with_defaults(table, columns)
        names = [*columns, *extra]
        full = [(*row, *values) for row in rows]
        if not full:
            return
        self.rows += len(full)
        if self.sqlite_path is not None:
            processors = _bind(table, names, self.dialect)
            prepared = [
                tuple(
                    p(v) if p is not None and v is not None else v
                    for p, v in zip(processors, row, strict=True)
                )
                for row in full
            ]
            await asyncio.to_thread(self._sqlite, table.name, names, prepared)
        else:
            await self._copy(table.name, names, full)

    def _sqlite(self, table: str, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        conn = sqlite3.connect(self.sqlite_path or "", timeout=60)
        try:
            conn.execute("PRAGMA foreign_keys=OFF")  # a load, not app traffic: ids are made consistent
            conn.execute("PRAGMA synchronous=OFF")
            marks = ", ".join("?" for _ in names)
            quoted = ", ".join(f'"{n}"' for n in names)
            # Table and column names come from the models, never from input.
            conn.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', rows)  # noqa: S608
            conn.commit()
        finally:
            conn.close()

    async def _copy(self, table: str, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        async with self.database.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
            async with driver.transaction():
                # A load, not app traffic: foreign keys (triggers) are not what is measured.
                await driver.execute("SET LOCAL session_replication_role = replica")
                await driver.copy_records_to_table(table, records=rows, columns=names)


# ---------- the province ----------


@dataclass
class Province:
    programme_id: int
    province_id: int
    staff_id: int
    stations: list[int] = field(default_factory=list)  # area ids
    station_paths: list[str] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)  # WORKERS_PER_STATION per station, in order
    scouts: list[int] = field(default_factory=list)
    dimensions: list[int] = field(default_factory=list)
    service_items: list[int] = field(default_factory=list)


async def _structure(database: Database, loader: Loader, now: datetime) -> Province:
    """The province, programme (its defaults seeded by the service) and staff through the real services;
    cities, districts, stations, workers and scouts in bulk."""
    async with database.transaction() as db:
        root = await do_create_area(db, name="基准省", parent=None, actor=None, level=AreaLevel.PROVINCE)
        programme = await do_create_programme(
            db,
            name="基准省社会工作服务站",
            kind=ProgrammeKind.SOCIAL_WORK_STATION,
            area=root,
            actor=None,
            time_zone="Asia/Shanghai",
        )
        staff = await do_create_user(db, handle="bench-staff", display_name="省级职员", actor=None)
        await do_add_membership(db, user=staff, programme=programme, area=root, role=Role.STAFF, actor=None)
        province = Province(programme.id, root.id, staff.id)
        province_path = root.path
        province.dimensions = list(
            await db.scalars(
                select(CaseDimension.id)
                .where(CaseDimension.programme_id == programme.id)
                .order_by("position")
            )
        )
        province.service_items = list(
            await db.scalars(select(ServiceItem.id).where(ServiceItem.programme_id == programme.id))
        )
    areas: list[tuple[Any, ...]] = []
    next_id = FIRST_ID
    districts = -(-STATIONS // STATIONS_PER_DISTRICT)
    cities = -(-districts // DISTRICTS_PER_CITY)
    city_paths = []
    for c in range(cities):
        path = f"{province_path}{next_id}/"
        areas.append((next_id, province.province_id, AreaLevel.CITY.value, f"市{c}", path, now))
        city_paths.append((next_id, path))
        next_id += 1
    district_paths = []
    for d in range(districts):
        parent, parent_path = city_paths[d // DISTRICTS_PER_CITY]
        path = f"{parent_path}{next_id}/"
        areas.append((next_id, parent, AreaLevel.DISTRICT.value, f"区{d}", path, now))
        district_paths.append((next_id, path))
        next_id += 1
    for s in range(STATIONS):
        parent, parent_path = district_paths[s // STATIONS_PER_DISTRICT]
        path = f"{parent_path}{next_id}/"
        areas.append((next_id, parent, AreaLevel.STREET.value, f"街道{s}", path, now))
        province.stations.append(next_id)
        province.station_paths.append(path)
        next_id += 1
    await loader.load(Area.__table__, ("id", "parent_id", "level", "name", "path", "created_at"), areas)

    users, memberships = [], []
    user_id = FIRST_ID
    for s, station in enumerate(province.stations):
        for w in range(WORKERS_PER_STATION):
            users.append((user_id, f"bench-sw-{s}-{w}", f"社工{s}-{w}", now))
            memberships.append((user_id, province.programme_id, station, Role.SOCIAL_WORKER.value, now))
            province.workers.append(user_id)
            user_id += 1
        users.append((user_id, f"bench-scout-{s}", f"排困员{s}", now))
        memberships.append((user_id, province.programme_id, station, Role.HARDSHIP_SCOUT.value, now))
        province.scouts.append(user_id)
        user_id += 1
    await loader.load(User.__table__, ("id", "handle", "display_name", "created_at"), users)
    await loader.load(
        Membership.__table__, ("user_id", "programme_id", "area_id", "role", "created_at"), memberships
    )
    return province


# ---------- cases and everything under them ----------

OPEN_STAGES = (
    (CaseStatus.ACCEPTED, 0.10),
    (CaseStatus.ASSESSED, 0.10),
    (CaseStatus.PLANNED, 0.15),
    (CaseStatus.IN_SERVICE, 0.65),
)
CATEGORIES = list(OrderCategory)
REFERRERS = list(ReferrerKind)
REASONS = (CloseReason.GOALS_MET,) * 6 + (CloseReason.MOVED_AWAY, CloseReason.DECLINED, CloseReason.REFERRED)
FREQUENCIES = (Frequency.WEEKLY, Frequency.FORTNIGHTLY, Frequency.MONTHLY)
OUTCOMES = (GoalOutcome.MET, GoalOutcome.MET, GoalOutcome.PARTLY, GoalOutcome.NOT_MET)

ORDER_COLUMNS = (
    "id", "client_uuid", "programme_id", "station_area_id", "household_area_id", "source", "referrer_kind",
    "referrer_name", "category", "description", "contact", "reported_by_id", "status", "taken_by_id",
    "taken_at", "created_at",
)  # fmt: skip
CASE_COLUMNS = (
    "id", "programme_id", "area_id", "person_id", "order_id", "lead_worker_id", "status", "opened_at",
    "opened_by_id", "closed_at", "close_reason", "created_at",
)  # fmt: skip
DELIVERY_COLUMNS = (
    "id", "client_uuid", "case_id", "plan_item_id", "programme_id", "area_id", "person_id",
    "submitted_by_id", "delivered_on", "minutes", "delivered_by", "people_count", "at_home", "note",
    "content_sha256", "submitted_at", "status", "reviewed_by_id", "reviewed_at", "created_at",
)  # fmt: skip


def _stage(rng: random.Random, opened: datetime, now: datetime) -> tuple[CaseStatus, datetime | None]:
    """Older cases are mostly closed; the rest spread over the open stages."""
    age = (now - opened).days
    if age > 30 and rng.random() < min(0.85, age / 250):
        closed = opened + timedelta(days=rng.randint(30, max(31, min(200, age - 1))))
        if closed < now - timedelta(days=1):
            return CaseStatus.CLOSED, closed
    pick, total = rng.random(), 0.0
    for status, share in OPEN_STAGES:
        total += share
        if pick <= total:
            return status, None
    return CaseStatus.IN_SERVICE, None


def _order_row(
    rng: random.Random, order_id: int, p: Province, s: int, created: datetime, taker: int | None
) -> tuple[Any, ...]:
    source = rng.choice((OrderSource.RESIDENT, OrderSource.SCOUT, OrderSource.SCOUT, OrderSource.REFERRER))
    referrer = rng.choice(REFERRERS) if source is OrderSource.REFERRER else None
    reporter = p.scouts[s] if source is OrderSource.SCOUT else None
    if source is OrderSource.REFERRER:
        reporter = p.workers[s * WORKERS_PER_STATION]
    taken_at = created + timedelta(hours=rng.randint(1, 60)) if taker is not None else None
    return (
        order_id, uuid.UUID(int=order_id), p.programme_id, p.stations[s], p.stations[s], source.value,
        referrer.value if referrer else None, "基准小学" if referrer else None, rng.choice(CATEGORIES).value,
        "独居老人行动不便，需要上门探访和生活照料。", "社区居委会转告", reporter,
        (OrderStatus.TAKEN if taker is not None else OrderStatus.OPEN).value, taker, taken_at, created,
    )  # fmt: skip


@dataclass
class Block:
    persons: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    assessments: list[tuple[Any, ...]] = field(default_factory=list)
    goals: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    # (case row index in this block, plan item ids, first day, last day) of cases that have deliveries
    served: list[tuple[int, tuple[int, int], date, date]] = field(default_factory=list)


def _case_block(rng: random.Random, p: Province, first: int, count: int, now: datetime) -> Block:
    """Cases `first` .. `first + count - 1` (ids FIRST_ID + n), opened evenly over the past year in id
    order, with their persons, orders, assessments, goals and plan items."""
    block = Block()
    start = now - YEAR
    for n in range(first, first + count):
        cid = FIRST_ID + n
        s = n % STATIONS
        station = p.stations[s]
        lead = p.workers[s * WORKERS_PER_STATION + (n // STATIONS) % WORKERS_PER_STATION]
        opened = start + YEAR * (n / max(1, CASES)) + timedelta(minutes=rng.randint(0, 600))
        status, closed = _stage(rng, opened, now)
        block.persons.append(
            (cid, p.programme_id, station, PersonKind.RESIDENT.value, f"居民{n}", 1940 + n % 70, opened)
        )
        order = _order_row(rng, cid, p, s, opened - timedelta(hours=rng.randint(2, 72)), lead)
        order = (*order[:14], opened, order[15])  # taken when the case opened
        block.orders.append(order)
        block.cases.append(
            (
                cid, p.programme_id, station, cid, cid, lead, status.value, opened, lead, closed,
                rng.choice(REASONS).value if closed else None, opened,
            )
        )  # fmt: skip
        if status is CaseStatus.ACCEPTED:
            continue
        assessed = (opened + timedelta(days=rng.randint(2, 10))).date()
        block.assessments.append((cid, p.programme_id, cid, assessed, lead, "入户评估", opened))
        if status is CaseStatus.ASSESSED:
            continue
        planned = opened + timedelta(days=12)
        goal_ids = (cid * 2, cid * 2 + 1)
        for k, goal_id in enumerate(goal_ids):
            outcome = rng.choice(OUTCOMES) if closed else None
            block.goals.append(
                (
                    goal_id, cid, p.dimensions[(n + k) % len(p.dimensions)], "改善生活状况", lead,
                    outcome.value if outcome else None, closed, planned,
                )
            )  # fmt: skip
            partner = k == 1 and n % 3 == 0
            block.items.append(
                (
                    goal_id, cid, p.service_items[(n + k * 5) % len(p.service_items)], goal_id,
                    (DelivererKind.PARTNER if partner else DelivererKind.WORKER).value,
                    None if partner else lead, "阳光助老服务社" if partner else None,
                    rng.choice(FREQUENCIES).value, lead, planned,
                )
            )  # fmt: skip
        if status in (CaseStatus.IN_SERVICE, CaseStatus.CLOSED):
            last = (closed or now - timedelta(hours=6)).date()
            block.served.append((len(block.cases) - 1, goal_ids, planned.date() + timedelta(days=1), last))
    return block


def _deliveries(
    rng: random.Random, p: Province, block: Block, first_id: int, per_case: float, now: datetime
) -> Iterator[tuple[Any, ...]]:
    recent = (now - timedelta(days=7)).date()
    carry = 0.0
    did = first_id
    for index, items, first_day, last_day in block.served:
        case = block.cases[index]
        cid, station, lead = case[0], case[2], case[5]
        s = (cid - FIRST_ID) % STATIONS
        other = p.workers[s * WORKERS_PER_STATION + (1 if p.workers[s * WORKERS_PER_STATION] == lead else 0)]
        carry += per_case
        many, carry = int(carry), carry - int(carry)
        span = max(0, (last_day - first_day).days)
        for k in range(many):
            day = first_day + timedelta(days=span * k // max(1, many) if span else 0)
            at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC) + timedelta(
                minutes=rng.randint(0, 480)
            )
            pending = day >= recent
            yield (
                did, uuid.UUID(int=did), cid, items[k % 2], p.programme_id, station, cid, lead, day,
                rng.choice((30, 45, 60, 90, 120)), "", rng.randint(1, 3), rng.random() < 0.6, "",
                hashlib.sha256(did.to_bytes(8, "big")).hexdigest(), at,
                (DeliveryStatus.PENDING if pending else DeliveryStatus.APPROVED).value,
                None if pending else other, None if pending else at + timedelta(hours=20), at,
            )  # fmt: skip
            did += 1


async def generate(database: Database, loader: Loader) -> dict[str, Any]:
    now = datetime.now(UTC)
    rng = random.Random(20)  # the same province on every run
    p = await _structure(database, loader, now)
    served_share = sum(share for status, share in OPEN_STAGES if status is CaseStatus.IN_SERVICE)
    # About 60% of cases end in service or closed after a plan; deliveries are spread over those.
    per_case = DELIVERIES / max(1.0, CASES * (0.55 + 0.45 * served_share))
    delivery_id = FIRST_ID
    for first in range(0, CASES, BLOCK):
        block = _case_block(rng, p, first, min(BLOCK, CASES - first), now)
        await loader.load(
            Person.__table__,
            ("id", "programme_id", "area_id", "kind", "display_name", "birth_year", "created_at"),
            block.persons,
        )
        await loader.load(CaseOrder.__table__, ORDER_COLUMNS, block.orders)
        await loader.load(Case.__table__, CASE_COLUMNS, block.cases)
        await loader.load(
            Assessment.__table__,
            ("id", "programme_id", "case_id", "assessed_on", "assessed_by_id", "note", "created_at"),
            block.assessments,
        )
        await loader.load(
            Goal.__table__,
            ("id", "case_id", "dimension_id", "text", "set_by_id", "outcome", "outcome_at", "created_at"),
            block.goals,
        )
        await loader.load(
            PlanItem.__table__,
            (
                "id", "case_id", "service_item_id", "goal_id", "deliverer_kind", "deliverer_user_id",
                "deliverer_name", "frequency", "added_by_id", "created_at",
            ),
            block.items,
        )  # fmt: skip
        rows = list(_deliveries(rng, p, block, delivery_id, per_case, now))
        delivery_id += len(rows)
        for start in range(0, len(rows), 100_000):
            await loader.load(Delivery.__table__, DELIVERY_COLUMNS, rows[start : start + 100_000])
    open_orders = []
    order_id = FIRST_ID + CASES
    for n in range(OPEN_ORDERS):
        created = now - timedelta(minutes=rng.randint(10, 30 * 24 * 60))
        open_orders.append(_order_row(rng, order_id + n, p, n % STATIONS, created, None))
    await loader.load(CaseOrder.__table__, ORDER_COLUMNS, open_orders)
    await _finish(database)
    return {
        "province": p,
        "deliveries": delivery_id - FIRST_ID,
        "rows": loader.rows,
        "now": now,
    }


async def _finish(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        # Not analyzed, as Carelog leaves a SQLite database (see bench/scale.py).
        return
    async with database.engine.begin() as conn:
        for table in (
            "area", "user_account", "person", "case_order", "case_file", "case_assessment", "case_goal",
            "case_plan_item", "service_delivery",
        ):  # fmt: skip
            # Table names from the tuple above, never from input.
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            highest = f"SELECT max(id) FROM {table}"  # noqa: S608
            await conn.execute(text(f"SELECT setval({sequence}, ({highest}))"))
    # VACUUM as well as ANALYZE, as a live server's autovacuum has done long since (bench/scale.py).
    async with database.engine.connect() as conn:
        vacuum = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await vacuum.execute(text("VACUUM ANALYZE"))


# ---------- measuring ----------


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
    grants = tuple(
        Grant(m.programme_id, m.programme.name, m.programme.kind, m.role, m.area_id, m.area.path, m.area.name)
        for m in memberships
    )
    return Principal(user.id, 0, user.display_name, None, user.is_admin, grants)


async def _median_ms(rounds: int, step: Callable[[], Awaitable[Any]]) -> float:
    await step()  # warm caches and the statement cache, as a running server has them
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def last_quarter(today: date) -> tuple[date, date]:
    """The last whole quarter before `today`: its first day and the first day after it."""
    first_month = (today.month - 1) // 3 * 3 + 1
    end = date(today.year, first_month, 1)
    start = date(end.year - 1, 10, 1) if end.month == 1 else date(end.year, end.month - 3, 1)
    return start, end


async def measure(database: Database, facts: dict[str, Any]) -> dict[str, float]:
    p: Province = facts["province"]
    # The busiest station's first worker: every station has the same load by construction.
    worker = await _principal_of(database, p.workers[0])
    staff = await _principal_of(database, p.staff_id)
    start, end = last_quarter((facts["now"] + timedelta(hours=8)).date())

    async def floor() -> None:
        async with database.transaction(read_only=True) as db:
            await db.scalar(select(Case.status).where(Case.id == FIRST_ID + 12345 % max(1, CASES)))

    queue, cases, report = _steps(database, p, worker, staff, start, end, facts["now"])
    return {
        "floor_ms": await _median_ms(max(ROUNDS, 5) * 4, floor),
        "queue_ms": await _median_ms(ROUNDS, queue),
        "cases_ms": await _median_ms(ROUNDS, cases),
        "report_s": await _median_ms(ROUNDS, report) / 1000,
    }


def _steps(
    database: Database,
    p: Province,
    worker: Principal,
    staff: Principal,
    start: date,
    end: date,
    now: datetime,
) -> tuple[Callable[[], Awaitable[Any]], ...]:
    from backend.cases.figures import station_figures
    from backend.cases.lists import PAGE_SIZE, list_cases
    from backend.cases.order_queries import list_queue

    async def queue() -> None:
        async with database.transaction(read_only=True) as db:
            rows = await list_queue(db, worker, now=now)
            assert rows and rows[0].order.status is OrderStatus.OPEN, "the worker's queue has no open order"

    async def cases() -> None:
        async with database.transaction(read_only=True) as db:
            page = await list_cases(db, worker, mine=True, status=None, before=None, limit=PAGE_SIZE)
            assert page, "the worker has no cases"

    async def report() -> None:
        async with database.transaction(read_only=True, long_reads=True) as db:
            figures = await station_figures(db, staff, p.programme_id, start, end)
            assert figures.total.cases_opened, "the quarter has no case"

    return queue, cases, report


# ---------- running ----------


async def one_database(kind: str) -> dict[str, float]:
    sqlite_path: str | None = None
    cleanup: Callable[[], Awaitable[None]] | None = None
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="carelog-cases-")
        sqlite_path = f"{folder}/cases.db"
        url = f"sqlite+aiosqlite:///{sqlite_path}"
    else:
        name = f"carelog_cases_{os.getpid()}"
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
        facts = await generate(database, Loader(database, sqlite_path))
        generated_s = time.perf_counter() - started
        figures = await measure(database, facts)
    finally:
        await database.dispose()
        if cleanup is not None:
            await cleanup()
        if sqlite_path is not None:
            await asyncio.to_thread(shutil.rmtree, Path(sqlite_path).parent, ignore_errors=True)
    figures["generate_s"] = generated_s
    figures["deliveries"] = float(facts["deliveries"])
    figures["rows"] = float(facts["rows"])
    return figures


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    heads = ("rows", "deliveries", "gen s", "floor ms", "queue ms", "cases ms", "report s")
    print(f"{'db':<11}" + "".join(f"{h:>12}" for h in heads))
    for kind in (k.strip() for k in DATABASES):
        f = asyncio.run(one_database(kind))
        results[kind] = f
        print(
            f"{kind:<11}{int(f['rows']):>12}{int(f['deliveries']):>12}{f['generate_s']:>12.1f}"
            f"{f['floor_ms']:>12.2f}{f['queue_ms']:>12.2f}{f['cases_ms']:>12.2f}{f['report_s']:>12.2f}"
        )
    print("targets: queue_ms <= 20, cases_ms <= 20, report_s <= 5 (a quarter of the whole province)")
    for kind, f in results.items():
        print(
            f"result db={kind} queue_ms={f['queue_ms']:.2f} cases_ms={f['cases_ms']:.2f} "
            f"report_s={f['report_s']:.3f} floor_ms={f['floor_ms']:.3f} "
            f"queue_ratio={f['queue_ms'] / f['floor_ms']:.1f} cases_ratio={f['cases_ms'] / f['floor_ms']:.1f}"
        )
    worst = {name: max(f[name] for f in results.values()) for name in ("queue_ms", "cases_ms", "report_s")}
    print(
        f"result queue_ms={worst['queue_ms']:.2f} cases_ms={worst['cases_ms']:.2f} "
        f"report_s={worst['report_s']:.3f}"
    )


if __name__ == "__main__":
    main()
