"""The small SQL constructs in db.py that keep the review queue's statements compiled once: ids bound
as one parameter (ids_in), constants written into the SQL (matches_partial_index, in_constants), and
plain-column reads past the ORM (read_columns). Each must select exactly what the plain form did, on
both engines, and on SQLite ids_in must still look rows up by key: an `... = 1` appended to it once
made SQLite scan every check-in instead (0.06 ms became 0.16 ms per page at 1,500 check-ins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import Database, ids_in, in_constants, matches_partial_index, read_columns
from backend.meals.models import CheckIn, CheckInStatus
from backend.people.models import Area, AreaLevel
from backend.verification import queue, strips
from backend.verification.views import _ALL_PHOTOS, _MEALS, _VISITS, load_views
from tests import personas
from tests.conftest import World
from tests.functional.settlement_support import principal_of

Scratch = Callable[..., Awaitable[None]]
_SCRATCH = Table("scratch_ids", MetaData(), Column("id", Integer, primary_key=True))


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
    statements = [_MEALS, _VISITS, _ALL_PHOTOS, strips._RECENT, queue._count(scope, None)]
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
