"""A closed month whose check-ins or ledger line were changed behind the triggers' back: the ledger
holds one line per agreement, the meals are computed again for the statement, and a disagreement is
shown plainly (pages and exports, 200 not 500) and fails `carelog check`, naming the month."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io

import pytest
from sqlalchemy import text

from backend.db import Database
from backend.meals.models import CheckInStatus
from backend.settings import Settings
from backend.settlement.checks import closed_month_mismatches
from tests import personas
from tests.conftest import SECRET, ClientAs, World, csrf_token
from tests.functional import meals_support
from tests.functional.settlement_support import close, last_month, meals

A = CheckInStatus.APPROVED
TABLES = ("meal_checkin", "settlement_ledger_line")


async def _behind_the_triggers(database: Database, sql: str, params: dict[str, object]) -> None:
    """Run one write that the closed-month and append-only triggers would refuse, as someone with the
    database's own keys could: PostgreSQL with triggers off for the transaction, SQLite with the
    tables' triggers dropped and made again around it."""
    async with database.transaction() as db:
        if db.get_bind().dialect.name == "postgresql":
            await db.execute(text("SET LOCAL session_replication_role = replica"))
            await db.execute(text(sql), params)
            return
        rows = await db.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (:a, :b)"),
            {"a": TABLES[0], "b": TABLES[1]},
        )
        triggers = list(rows)
        for name, _sql in triggers:
            await db.execute(text(f'DROP TRIGGER "{name}"'))
        await db.execute(text(sql), params)
        for _name, create in triggers:
            await db.execute(text(create))


async def _closed_month_of_two_meals(world: World, database: Database) -> tuple[int, int, list[int]]:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    made = await meals(
        database, agreement, last_month(), [A, A], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert (closing.meals, closing.total_fen) == (2, 3000)
    return agreement.programme_id, agreement.id, [c.id for c in made]


def _carelog_check(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    """`carelog check` in this process, its photo half answering "all well" (the test's photo rows
    have no files in a store another process could read), so its exit status is the ledger's."""
    from backend import cli
    from backend.evidence import maintenance

    async def no_bad_photos(db, store):  # type: ignore[no-untyped-def]
        return maintenance.CheckReport()

    for name, value in {
        "CARELOG_DATABASE_URL": settings.database_url,
        "CARELOG_PHOTO_STORE_URL": "memory://",
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_ENV": "test",
        "CARELOG_PUBLIC_ORIGIN": settings.public_origin,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(maintenance, "check_photos", no_bad_photos)
    return cli.cmd_check(argparse.Namespace())


async def test_a_closed_month_whose_check_in_was_changed_shows_the_mismatch_and_fails_the_check(
    client_as: ClientAs,
    world: World,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pid, agreement_id, made = await _closed_month_of_two_meals(world, database)
    month = last_month().strftime("%Y-%m")
    assert await asyncio.to_thread(_carelog_check, settings, monkeypatch) == 0
    assert "closed months checked: 1, with ledger and check-ins disagreeing: 0" in capsys.readouterr().out

    # A paid meal rejected after closing, past the service and the triggers.
    await _behind_the_triggers(
        database, "UPDATE meal_checkin SET status = 'rejected' WHERE id = :id", {"id": made[1]}
    )

    staff = await client_as(personas.STAFF)
    statement = await staff.get(f"/settlement/{pid}/statement", params={"month": month})
    assert statement.status_code == 200
    assert "台账与签到记录不符" in statement.text and "ledger-mismatch" in statement.text
    assert "台账已支付 2 餐、30.00 元，但按现在的签到记录计算为 1 餐、15.00 元" in statement.text
    page = await staff.get(f"/settlement/{pid}", params={"month": month})
    assert page.status_code == 200 and "台账与签到记录不符" in page.text
    assert "30.00" in page.text  # the month's money is what the ledger paid
    one = await staff.get(f"/settlement/agreements/{agreement_id}/statement", params={"month": month})
    assert one.status_code == 200 and "台账已支付 2 餐" in one.text

    await staff.post(
        "/language", data={"_csrf_token": await csrf_token(staff), "language": "en", "next": "/"}
    )
    english = await staff.get(f"/settlement/{pid}/statement", params={"month": month})
    assert english.status_code == 200
    assert "The ledger of this closed month does not match its check-ins." in english.text
    exported = await staff.get(f"/settlement/{pid}/statement.csv", params={"month": month})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    (flagged,) = [r for r in rows if r[0] == "ledger mismatch"]
    assert flagged[1] == str(agreement_id) and flagged[10] == "3000" and "1 meals" in flagged[12]
    assert [r[6] for r in rows if r[0] == "meal"] == [str(made[0])]
    assert rows[-1][0] == "total" and rows[-1][10] == "3000"
    xlsx = await staff.get(f"/settlement/{pid}/statement.xlsx", params={"month": month})
    assert xlsx.status_code == 200

    assert await asyncio.to_thread(_carelog_check, settings, monkeypatch) == 1
    out = capsys.readouterr().out
    assert (
        f"closed month {month} of programme {pid}: agreement {agreement_id} was paid 2 meals, 3000 fen" in out
    )
    assert "now give 1 meals, 1500 fen" in out
    assert "closed months checked: 1, with ledger and check-ins disagreeing: 1" in out


async def test_a_ledger_line_changed_after_closing_is_found_too(world: World, database: Database) -> None:
    pid, agreement_id, _made = await _closed_month_of_two_meals(world, database)
    async with database.transaction(read_only=True) as db:
        assert await closed_month_mismatches(db) == (1, [])
    await _behind_the_triggers(
        database,
        "UPDATE settlement_ledger_line SET amount_fen = 4500, meal_count = 3 WHERE agreement_id = :a",
        {"a": agreement_id},
    )
    async with database.transaction(read_only=True) as db:
        checked, found = await closed_month_mismatches(db)
    assert checked == 1 and [(m.programme_id, m.month, m.agreement_id) for m in found] == [
        (pid, last_month(), agreement_id)
    ]
    assert (found[0].ledger, found[0].recomputed) == ((3, 4500), (2, 3000))
