"""Migration 0013 on a database with a closed month, on both engines: down to 0012 the ledger holds one
line per paid meal (as closing wrote it before), and up again one line per agreement and month with
the same count and sum; adjustments keep their ids. A downgrade whose check-ins no longer add up to
the ledger stops before changing anything."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.db import Database, create_database
from backend.meals.models import CheckInStatus
from backend.migrate import downgrade, upgrade
from backend.people.models import User
from backend.settings import Settings
from backend.settlement.checks import closed_month_mismatches
from backend.settlement.service import do_add_adjustment
from tests import personas
from tests.conftest import World, _pg_dsn_for, drop_pg_database, recreate_pg_database, require_postgres
from tests.functional import meals_support
from tests.functional.settlement.test_settlement_mismatch import _behind_the_triggers
from tests.functional.settlement_support import (
    close,
    last_month,
    load_agreement,
    meals,
    small_cap_agreement,
    this_month,
)

A, R = CheckInStatus.APPROVED, CheckInStatus.REJECTED
LINES = (
    "SELECT id, programme_id, month, agreement_id, kind, {extra}, amount_fen, reason, created_by_id,"
    " created_at FROM settlement_ledger_line ORDER BY kind, agreement_id, id"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, worker_tag: str) -> Iterator[str]:
    """A database of this test's own: the shared worker database must not be migrated down."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
        upgrade(url)
        yield url
        return
    require_postgres()
    name = f"carelog_ledger_{worker_tag}"
    asyncio.run(recreate_pg_database(name))
    url = "postgresql+asyncpg://" + _pg_dsn_for(name).split("://", 1)[1]
    upgrade(url)
    yield url
    asyncio.run(drop_pg_database(name))


async def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql))]
    finally:
        await engine.dispose()


async def _closed_month(world: World, database: Database) -> dict[str, Any]:
    """Last month closed over two agreements (one capped), and an adjustment into this month."""
    worker, staff = world.user_id(personas.SOCIAL_WORKER), world.user_id(personas.STAFF)
    qian = await meals_support.agreement_of(database, world.person_id("qian"))
    capped = await small_cap_agreement(database, world, rate=1500, cap=4000)
    qian_meals = await meals(database, qian, last_month(), [A, R, A], reviewer_id=worker)
    capped_meals = await meals(database, capped, last_month(), [A, A, A, A], reviewer_id=worker, seed=50)
    closing = await close(database, qian.programme_id, last_month(), staff)
    assert (closing.meals, closing.total_fen) == (6, 7000)
    loaded = await load_agreement(database, qian.id)
    async with database.transaction() as db:
        adjustment = await do_add_adjustment(
            db,
            loaded,
            this_month(),
            amount_fen=-1500,
            reason="上月重复一餐",
            actor=await db.get_one(User, staff),
        )
    return {
        "qian": (qian.id, [qian_meals[0].id, qian_meals[2].id]),
        "capped": (capped.id, [c.id for c in capped_meals]),
        "adjustment": adjustment.id,
    }


async def test_the_ledger_goes_down_to_one_line_per_meal_and_up_to_one_per_agreement_month(
    db_url: str, world: World, database: Database, settings: Settings
) -> None:
    made = await _closed_month(world, database)
    await database.dispose()
    at_head = await _rows(db_url, LINES.format(extra="meal_count"))
    qian_id, capped_id = made["qian"][0], made["capped"][0]  # the demo's agreement is the older
    assert [(r[3], r[4], r[5], r[6]) for r in at_head] == [
        (qian_id, "adjustment", None, -1500),
        (qian_id, "meal", 2, 3000),
        (capped_id, "meal", 4, 4000),
    ]

    await asyncio.to_thread(downgrade, db_url, "0012")
    per_meal = await _rows(db_url, LINES.format(extra="checkin_id"))
    adjustments = [r for r in per_meal if r[4] == "adjustment"]
    assert adjustments == [r for r in at_head if r[4] == "adjustment"]  # untouched, same id
    by_agreement: dict[int, list[tuple[int, int]]] = {}
    for row in per_meal:
        if row[4] == "meal":
            by_agreement.setdefault(row[3], []).append((row[5], row[6]))
    qian_meals, capped_meals = made["qian"][1], made["capped"][1]
    # What closing wrote before 0013: one line per approved meal, the crossing one the remainder.
    assert by_agreement == {
        qian_id: [(qian_meals[0], 1500), (qian_meals[1], 1500)],
        capped_id: list(zip(capped_meals, [1500, 1500, 1000, 0], strict=True)),
    }
    head_meal = {r[3]: (r[1], r[2], r[8], r[9]) for r in at_head if r[4] == "meal"}
    for row in per_meal:  # programme, month, created by and at are the closing's
        if row[4] == "meal":
            assert (row[1], row[2], row[8], row[9]) == head_meal[row[3]]

    await asyncio.to_thread(upgrade, db_url, "head")
    again = await _rows(db_url, LINES.format(extra="meal_count"))
    assert [r[1:] for r in again] == [r[1:] for r in at_head]
    assert again[0][0] == made["adjustment"]
    copy = create_database(settings)
    try:
        async with copy.transaction(read_only=True) as db:
            assert await closed_month_mismatches(db) == (1, [])
    finally:
        await copy.dispose()


async def test_a_downgrade_whose_check_ins_no_longer_add_up_stops_before_changing_anything(
    db_url: str, world: World, database: Database
) -> None:
    made = await _closed_month(world, database)
    await _behind_the_triggers(
        database, "UPDATE meal_checkin SET status = 'rejected' WHERE id = :id", {"id": made["capped"][1][0]}
    )
    await database.dispose()
    await asyncio.to_thread(downgrade, db_url, "0013")  # later revisions step back first
    before = await _rows(db_url, LINES.format(extra="meal_count"))
    with pytest.raises(RuntimeError, match=r"cannot downgrade below 0013: ledger line \d+ \(agreement \d+"):
        await asyncio.to_thread(downgrade, db_url, "0012")
    assert await _rows(db_url, "SELECT version_num FROM alembic_version") == [("0013",)]
    assert await _rows(db_url, LINES.format(extra="meal_count")) == before
