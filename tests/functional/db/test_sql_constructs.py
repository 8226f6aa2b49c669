"""The small SQL constructs of sql.py that keep the review queue's statements compiled once and few: ids
bound as one parameter (ids_in), constants written into the SQL (matches_partial_index, in_constants),
a group's rows as one JSON column (json_rows), a day or moment some days earlier (days_before) and a
moment's sort key (moment_key); and plain-column reads past the ORM (db.read_columns). Each must select
exactly what the plain form did, on both engines, and on SQLite ids_in must still look rows up by key:
an `... = 1` appended to it once made SQLite scan every check-in instead (0.06 ms became 0.16 ms per
page at 1,500 check-ins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Column, Date, Integer, MetaData, Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import Database, read_columns
from backend.meals.models import CheckIn, CheckInPhoto, CheckInStatus
from backend.people.models import Area, AreaLevel
from backend.sql import days_before, ids_in, in_constants, json_rows, matches_partial_index, moment_key
from backend.verification import queue
from backend.verification.views import _MEALS, _VISITS, load_views
from tests import personas
from tests.conftest import World
from tests.functional.review_support import clean_meal, past_days
from tests.functional.settlement_support import principal_of

Scratch = Callable[..., Awaitable[None]]
_SCRATCH = Table("scratch_ids", MetaData(), Column("id", Integer, primary_key=True))
_MOMENTS = Table(
    "scratch_moments",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("day", Date),
    Column("at", DateTimeUTC(timezone=True)),
)


@pytest.fixture
async def scratch(database: Database) -> AsyncIterator[Scratch]:
    """A table of ids for the test, dropped after it (PostgreSQL's test database outlives a test)."""

    async def fill(*ids: int) -> None:
        async with database.transaction() as db:
            connection = await db.connection()
            await connection.run_sync(_SCRATCH.metadata.create_all)
            await db.execute(_SCRATCH.insert(), [{"id": i} for i in ids])

    yield fill
    async with database.transaction() as db:
        await (await db.connection()).run_sync(_SCRATCH.metadata.drop_all)


async def _ids_among(database: Database, wanted: list[int]) -> list[int]:
    async with database.transaction(read_only=True) as db:
        statement = select(_SCRATCH.c.id).where(ids_in(_SCRATCH.c.id, "ids")).order_by(_SCRATCH.c.id)
        return list((await read_columns(db, statement, {"ids": wanted})).scalars())


async def test_ids_in_selects_exactly_the_listed_rows(database: Database, scratch: Scratch) -> None:
    await scratch(*range(1, 2001))
    assert await _ids_among(database, []) == []
    assert await _ids_among(database, [7]) == [7]
    assert await _ids_among(database, [3, 1, 3, 99_999]) == [1, 3]  # repeats once, unknown ids none
    assert await _ids_among(database, list(range(2000, 0, -2))) == list(range(2, 2001, 2))


async def test_ids_in_is_one_parameter_and_the_same_sql_for_any_list(database: Database) -> None:
    async with database.transaction(read_only=True) as db:
        statement = select(_SCRATCH.c.id).where(ids_in(_SCRATCH.c.id, "ids"))
        dialect = (await db.connection()).dialect
    short = statement.compile(dialect=dialect)
    assert list(short.params) == ["ids"]
    assert not short.post_compile_params and not short.literal_execute_params
    assert "= 1" not in str(short)  # a condition of its own, not a value compared with true


async def test_the_review_queues_statements_are_compiled_once_for_any_parameters(
    database: Database, world: World
) -> None:
    """No expanding or literal-execute parameter in the queue's statements: with one, SQLAlchemy
    rewrites the statement's SQL on every execution (about 5% of the queue page's time)."""
    reviewer = await principal_of(database, world.user_id(personas.SOCIAL_WORKER))
    scope = queue._scope(reviewer)
    statements = [_MEALS, _VISITS, queue._count(scope, None)]
    statements += [
        queue._page(scope, None, walk, sqlite, counted)
        for walk in (True, False)
        for sqlite in (True, False)
        for counted in (True, False)
    ]
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        for statement in statements:
            compiled = statement.compile(dialect=dialect)
            assert not compiled.post_compile_params, str(compiled)
            assert not compiled.literal_execute_params, str(compiled)


async def test_meal_cards_look_check_ins_up_by_key_on_sqlite(database: Database, world: World) -> None:
    async with database.transaction(read_only=True) as db:
        connection = await db.connection()
        if connection.dialect.name != "sqlite":
            return  # PostgreSQL picks its plan by the table's size; SQLite's planner is the one that slipped
        compiled = _MEALS.compile(dialect=connection.dialect)
        values = compiled.construct_params({"ids": "[1, 2, 3]"})  # as IdList binds it on SQLite
        bound = tuple(values[name] for name in compiled.positiontup or [])
        plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", bound)).all()
    details = [row[-1] for row in plan]
    assert any(d.startswith("SEARCH meal_checkin USING INTEGER PRIMARY KEY") for d in details), details
    assert not any(d.startswith("SCAN meal_checkin") for d in details), details


async def test_views_load_the_asked_check_ins_with_their_photos_on_both_engines(
    database: Database, world: World
) -> None:
    async with database.transaction(read_only=True) as db:
        ids = list((await db.scalars(select(CheckIn.id).order_by(CheckIn.id).limit(3))).all())
        meals, visits = await load_views(db, [*ids, 10**9], [])
    assert sorted(meals) == ids
    assert visits == {}


def test_constants_are_written_into_the_sql_for_both_engines() -> None:
    statement = select(CheckIn.id).where(
        matches_partial_index(CheckIn.status, CheckInStatus.PENDING),
        in_constants(CheckIn.programme_id, [2, 1]),
    )
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = statement.compile(dialect=dialect)
        sql = str(compiled)
        assert "meal_checkin.status = 'pending'" in sql
        assert "meal_checkin.programme_id IN (2, 1)" in sql
        assert not compiled.params
        assert not compiled.post_compile_params and not compiled.literal_execute_params


async def test_read_columns_sees_what_the_session_has_not_written_yet(database: Database) -> None:
    async with database.transaction() as db:
        db.add(Area(name="新街道", level=AreaLevel.STREET, path="/"))
        names = (await read_columns(db, select(Area.name).where(Area.name == "新街道"))).scalars().all()
        await db.rollback()
    assert names == ["新街道"]


async def test_read_columns_reads_in_the_sessions_transaction(database: Database, scratch: Scratch) -> None:
    await scratch(1)
    async with database.transaction() as db:
        await db.execute(_SCRATCH.insert(), [{"id": 2}])
        seen = (await read_columns(db, select(_SCRATCH.c.id).order_by(_SCRATCH.c.id))).scalars().all()
        await db.rollback()
    assert seen == [1, 2]
    async with database.transaction(read_only=True) as db:
        assert (await db.execute(text("SELECT count(*) FROM scratch_ids"))).scalar_one() == 1


@pytest.fixture
async def moments(database: Database) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    async def fill(rows: list[dict[str, object]]) -> None:
        async with database.transaction() as db:
            await (await db.connection()).run_sync(_MOMENTS.metadata.create_all)
            await db.execute(_MOMENTS.insert(), rows)

    yield fill
    async with database.transaction() as db:
        await (await db.connection()).run_sync(_MOMENTS.metadata.drop_all)


async def test_days_before_keeps_the_seven_days_before_on_both_engines(
    database: Database, moments: Callable[..., Awaitable[None]]
) -> None:
    """A row's own day or moment is the bound of a window reaching 7 days back, inclusive at both ends,
    for a day column (a meal's) and a moment column (a visit's, stored with microseconds)."""
    day = date(2026, 3, 9)  # across the end of February
    moment = datetime(2026, 3, 9, 3, 30, 0, 250_000, tzinfo=UTC)
    offsets = [0, 1, 7, 8, -1]
    rows: list[dict[str, object]] = [{"id": 1, "day": day, "at": moment}]
    rows += [{"id": 10 + n, "day": day - timedelta(days=d), "at": None} for n, d in enumerate(offsets)]
    week = timedelta(days=7)
    at_offsets = [timedelta(0), week, week + timedelta(milliseconds=2), week - timedelta(minutes=1), -week]
    rows += [{"id": 20 + n, "day": None, "at": moment - d} for n, d in enumerate(at_offsets)]
    await moments(rows)
    ref, other = _MOMENTS.alias("ref"), _MOMENTS.alias("other")
    async with database.transaction(read_only=True) as db:
        days = await read_columns(
            db,
            select(other.c.id)
            .where(ref.c.id == 1, other.c.day >= days_before(ref.c.day, 7), other.c.day <= ref.c.day)
            .order_by(other.c.id),
        )
        ats = await read_columns(
            db,
            select(other.c.id)
            .where(ref.c.id == 1, other.c.at >= days_before(ref.c.at, 7), other.c.at <= ref.c.at)
            .order_by(other.c.id),
        )
        assert list(days.scalars()) == [1, 10, 11, 12]  # itself, 0, 1, 7 days before; not 8, not after
        assert list(ats.scalars()) == [1, 20, 21, 23]  # itself, 0, exactly 7 days, 7 days less a minute


async def test_json_rows_and_moment_key_carry_a_groups_rows_in_a_sortable_form(
    database: Database, moments: Callable[..., Awaitable[None]]
) -> None:
    base = datetime(2026, 10, 24, 23, 59, tzinfo=UTC)
    await moments([{"id": i, "day": date(2026, 10, i), "at": base + timedelta(hours=i)} for i in (3, 1, 2)])
    async with database.transaction(read_only=True) as db:
        rows = (
            await read_columns(
                db,
                select(json_rows(_MOMENTS.c.id, moment_key(_MOMENTS.c.at), moment_key(_MOMENTS.c.day))),
            )
        ).scalar()
        nothing = (
            await read_columns(db, select(json_rows(_MOMENTS.c.id)).where(_MOMENTS.c.id > 99))
        ).scalar()
    assert isinstance(rows, list) and sorted(r[0] for r in rows) == [1, 2, 3]
    assert [r[0] for r in sorted(rows, key=lambda r: r[1])] == [1, 2, 3]  # by moment
    assert [r[0] for r in sorted(rows, key=lambda r: r[2])] == [1, 2, 3]  # by day
    assert not nothing  # None on PostgreSQL, [] on SQLite: both mean no rows


async def test_a_meal_cards_strip_is_its_residents_photos_of_the_week_before_newest_first(
    database: Database, world: World
) -> None:
    """The strip read with the card (views.py): the same resident's current check-ins from 7 days
    before the card's day up to that day, newest first; not the card's own, not a later one, not 8 days
    before, and not another resident's."""
    today_back = past_days(12)  # today - 1 ... today - 12
    card_day = today_back[2]
    meals = {
        back: await clean_meal(database, world, card_day - timedelta(days=back), seed=700 + back)
        for back in (-2, 0, 3, 7, 8)
    }
    other = await clean_meal(database, world, card_day - timedelta(days=1), seed=720, resident="zheng")
    async with database.transaction(read_only=True) as db:
        links = await db.execute(select(CheckInPhoto.checkin_id, CheckInPhoto.photo_id))
        photo_of = {checkin_id: photo_id for checkin_id, photo_id in links}
        views, _visits = await load_views(db, [meals[0].id, other.id], [])
        strip = [thumb.id for thumb in views[meals[0].id].recent]
        others = [thumb.id for thumb in views[other.id].recent]
        assert await db.scalar(select(func.count()).select_from(CheckInPhoto)) >= 6
    assert strip == [photo_of[meals[3].id], photo_of[meals[7].id]]
    assert photo_of[other.id] not in strip
    assert not set(others) & {photo_of[m.id] for m in meals.values()}
