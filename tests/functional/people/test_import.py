"""Spreadsheet import of the registry: the dry run names every bad row and writes nothing; the commit
applies exactly the checked plan, all or nothing; the same file again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from backend import clock
from backend.audit import AuditEvent
from backend.db import Database
from backend.errors import Refused
from backend.people.import_models import ImportPlan
from backend.people.import_service import check_file, do_commit_plan, get_plan_for, importer_for
from backend.people.models import Person, Programme, User, UserReference
from backend.people.person_service import PersonFields, do_update_person
from backend.people.registry_table import COLUMNS, SOURCES
from backend.people.spreadsheets import MAX_ROWS, read_table
from backend.settings import Settings
from backend.visits.labels import _SOURCE
from tests import personas
from tests.conftest import SECRET, ClientAs, World, csrf_token

Row = list[str]
GUIYUAN = "梧桐街道/桂园社区"


def registry_rows(count: int, *, prefix: str = "R") -> list[Row]:
    """Guardians and their children, alternately, in Guiyuan (the guardian on the line before)."""
    rows = []
    for i in range(count // 2):
        rows.append([f"{prefix}G{i:05d}", "监护人", f"监护人{i}", "1985", GUIYUAN, "", "", ""])
        rows.append(
            [f"{prefix}C{i:05d}", "儿童", f"儿童{i}", "2015", GUIYUAN, f"{prefix}G{i:05d}", "学校", ""]
        )
    return rows


def as_csv(rows: list[Row], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([list(COLUMNS), *rows])
    return buffer.getvalue().encode(encoding)


def as_xlsx(rows: list[Row]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # as a person types text into a cell, even one starting with =
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _check(
    database: Database, world: World, data: bytes, handle: str = personas.STAFF, store: bool = True
):  # type: ignore[no-untyped-def]
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["mothers"].id)
        importer = await importer_for(db, world.user_id(handle), programme)
        return await check_file(db, programme, data, importer=importer, store=store)


async def _commit(database: Database, world: World, plan_id: int, handle: str = personas.STAFF):  # type: ignore[no-untyped-def]
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["mothers"].id)
        importer = await importer_for(db, world.user_id(handle), programme)
        stored = await get_plan_for(db, plan_id, actor=importer.actor)
        return await do_commit_plan(db, stored, importer=importer)


async def _referenced_people(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).where(Person.reference.is_not(None))) or 0)


def _spoil(rows: list[Row]) -> dict[int, str]:
    """25 bad rows of five kinds; their line numbers (the header is line 1) and a word of each reason."""
    expected = {}
    for n in range(5):
        base = 100 + n * 900
        rows[base][4] = "梧桐街道/没有这个社区"  # a guardian in an unknown area
        expected[base + 2] = "没有这个社区"
        rows[base + 2][3] = "二〇一五"  # a bad birth year
        expected[base + 4] = "出生年份"
        rows[base + 5][0] = rows[base + 3][0]  # a child's reference repeated in the file
        expected[base + 7] = str(base + 5)  # "… it is on line <first> too"
        rows[base + 7][5] = ""  # a child without a guardian (its row follows its guardian's)
        expected[base + 9] = "监护人编号"
        rows[base + 9][1] = "邻居"  # a neighbour in a caring-mother programme
        expected[base + 11] = "邻居"
    return expected


async def test_5000_rows_with_25_bad_name_each_and_write_nothing_then_import_once(
    database: Database, world: World
) -> None:
    rows = registry_rows(5000)
    expected = _spoil(rows)
    before = await _referenced_people(database)
    plan = await _check(database, world, as_csv(rows))
    assert {r.line: r.reason for r in plan.errors}.keys() == expected.keys()
    for row in plan.errors:
        assert expected[row.line] in row.reason, (row.line, row.reason)
    assert plan.plan_id is None
    assert await _referenced_people(database) == before
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count()).select_from(ImportPlan)) == 0

    good = await _check(database, world, as_csv(registry_rows(5000)))
    assert (good.count("create"), good.errors) == (5000, [])
    assert good.plan_id is not None
    assert await _referenced_people(database) == before  # the dry run writes only its plan
    await _commit(database, world, good.plan_id)
    assert await _referenced_people(database) == before + 5000

    again = await _check(database, world, as_csv(registry_rows(5000)))
    assert again.count("unchanged") == 5000
    assert again.plan_id is not None
    await _commit(database, world, again.plan_id)
    assert await _referenced_people(database) == before + 5000
    async with database.transaction(read_only=True) as db:
        batches = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "registry.imported")))
    assert [b.change["created"] for b in batches] == [5000, 0]
    assert all("监护人" not in str(b.change) for b in batches)  # ids and counts, never names


async def test_a_gb18030_csv_and_an_xlsx_of_the_same_rows_give_the_same_plan(
    database: Database, world: World
) -> None:
    rows = registry_rows(20, prefix="E")
    rows[0][7] = "身份证 11010120150101123X，电话 13800138000"
    rows[2][7] = '=HYPERLINK("http://x")'
    rows[4][7] = "-5 +3 @home"
    from_csv = await _check(database, world, as_csv(rows, "gb18030"), store=False)
    from_xlsx = await _check(database, world, as_xlsx(rows), store=False)
    from_bom = await _check(database, world, b"\xef\xbb\xbf" + as_csv(rows), store=False)
    assert (from_csv.encoding, from_xlsx.encoding, from_bom.encoding) == ("GB18030", "XLSX", "UTF-8 (BOM)")
    assert from_csv.outcome() == from_xlsx.outcome() == from_bom.outcome()
    assert [r.cells for r in from_csv.rows] == [r.cells for r in from_xlsx.rows]
    assert from_xlsx.rows[0].cells["备注"].startswith("身份证 11010120150101123X")


async def test_export_then_import_changes_nothing_and_formulas_stay_text(
    database: Database, world: World, client_as: ClientAs
) -> None:
    rows = registry_rows(6, prefix="X")
    rows[0][7] = "=1+1"
    rows[1][2] = "@小明"
    rows.append(["XM1", "爱心妈妈", "导入妈妈", "", GUIYUAN, "", "", ""])
    plan = await _check(database, world, as_xlsx(rows))
    assert plan.plan_id is not None and plan.count("create") == 7
    await _commit(database, world, plan.plan_id)

    staff = await client_as(personas.STAFF)
    programme_id = world.cast.programmes["mothers"].id
    exported = await staff.get(f"/programmes/{programme_id}/registry.xlsx")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content), read_only=True).worksheets[0]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert tuple(values[0]) == COLUMNS
    assert ["XG00000", "监护人", "监护人0", "1985", GUIYUAN, None, None, "=1+1"] in [list(v) for v in values]
    again = await _check(database, world, exported.content)
    assert again.errors == [] and again.count("unchanged") == len(again.rows) >= 7
    async with database.transaction(read_only=True) as db:
        note = await db.scalar(select(Person.note).where(Person.reference == "XG00000"))
        mother = await db.scalar(
            select(User)
            .join(UserReference, UserReference.user_id == User.id)
            .where(UserReference.reference == "XM1")
        )
    assert note == "=1+1"
    assert mother is not None and mother.display_name == "导入妈妈"


async def test_a_social_worker_gets_an_error_row_for_an_area_outside_hers(
    world: World, client_as: ClientAs
) -> None:
    outside = ["SG9", "监护人", "外街监护人", "1980", "柳岸街道/荷塘社区", "", "", ""]
    rows = [*registry_rows(2, prefix="S"), outside]
    worker = await client_as(personas.SOCIAL_WORKER)
    page = await worker.post(
        "/people/import",
        data={
            "_csrf_token": await csrf_token(worker),
            "programme_id": str(world.cast.programmes["mothers"].id),
        },
        files={"file": ("名册.csv", as_csv(rows), "text/csv")},
    )
    assert page.status_code == 422
    assert 'id="line-4"' in page.text
    assert "柳岸街道/荷塘社区" in page.text
    assert 'id="import-commit"' not in page.text


async def test_the_page_checks_then_imports_and_the_commit_refuses_a_changed_registry(
    database: Database, world: World, client_as: ClientAs
) -> None:
    staff = await client_as(personas.STAFF)
    programme_id = str(world.cast.programmes["mothers"].id)
    assert (await staff.get("/people/import")).status_code == 200
    assert (await staff.get("/people/import/template")).status_code == 200
    rows = registry_rows(4, prefix="P")
    checked = await staff.post(
        "/people/import",
        data={"_csrf_token": await csrf_token(staff), "programme_id": programme_id},
        files={"file": ("名册.csv", as_csv(rows, "gb18030"), "text/csv")},
    )
    assert checked.status_code == 200, checked.text
    assert "GB18030" in checked.text
    async with database.transaction(read_only=True) as db:
        plan_id = await db.scalar(select(func.max(ImportPlan.id)))
    done = await staff.post(
        "/people/import/commit", data={"_csrf_token": await csrf_token(staff), "plan_id": str(plan_id)}
    )
    assert done.status_code == 200
    assert 'id="import-done"' in done.text

    rows[0][2] = "改名监护人"
    plan = await _check(database, world, as_csv(rows))
    assert plan.outcome()[0][1:3] == ["update", ["姓名"]]
    async with database.transaction() as db:  # someone edits the same person in between
        person = await db.scalar(select(Person).where(Person.reference == "PG00000"))
        assert person is not None
        await do_update_person(db, person, PersonFields("别的名字", 1985, None, "PG00000"), actor=None)  # type: ignore[arg-type]
    assert plan.plan_id is not None
    with pytest.raises(Refused) as refused:
        await _commit(database, world, plan.plan_id)
    assert refused.value.status_code == 409
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(Person.display_name).where(Person.reference == "PG00000")) == "别的名字"


def test_encodings_are_detected_in_order_and_never_replaced() -> None:
    text = "编号,类型,姓名,出生年份,区域\r\nA1,监护人,张三,1980,梧桐街道/桂园社区\r\n"
    assert read_table(text.encode("utf-8")).encoding == "UTF-8"
    assert read_table(b"\xef\xbb\xbf" + text.encode("utf-8")).encoding == "UTF-8 (BOM)"
    gb = read_table(text.encode("gb18030"))
    assert (gb.encoding, gb.rows[0][1][2]) == ("GB18030", "张三")
    with pytest.raises(Refused):
        read_table(b"\xef\xbb\xbf\xff\xfe")  # says UTF-8, is not
    with pytest.raises(Refused):
        read_table(text.encode("utf-8") + b"\x81\x30")  # neither UTF-8 nor GB18030
    with pytest.raises(Refused) as too_many:
        read_table(("编号\r\n" + "A\r\n" * (MAX_ROWS + 1)).encode())
    assert "20,000" in str(too_many.value.detail)
    assert read_table(b"a\r\n'=1+1\r\n").rows[0][1] == ["=1+1"]  # what a Carelog CSV wrote


def test_the_referral_sources_are_the_chinese_labels() -> None:
    from backend import i18n

    # Set and reset through the context variable: a test that leaves another language behind changes
    # the words of every later test in this worker (the audit labels' test failed after this one).
    token = i18n._current.set("zh_Hans")
    try:
        assert {str(label): source for source, label in _SOURCE.items()} == SOURCES
    finally:
        i18n._current.reset(token)


def _carelog(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {
        "CARELOG_DATABASE_URL": settings.database_url,
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_PUBLIC_ORIGIN": settings.public_origin,
        "CARELOG_ENV": "test",
        "CARELOG_TODAY": clock.today_in(clock.REFERENCE_ZONE).isoformat(),
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_cli_prints_each_error_row_exits_1_and_writes_nothing(
    settings: Settings, database: Database, world: World, tmp_path: Path
) -> None:
    rows = registry_rows(6, prefix="L")
    rows[3][3] = "1850"
    bad, good = tmp_path / "bad.csv", tmp_path / "good.xlsx"
    bad.write_bytes(as_csv(rows))
    rows[3][3] = "2016"
    good.write_bytes(as_xlsx(rows))
    programme = str(world.cast.programmes["mothers"].id)
    before = await _referenced_people(database)
    done = await asyncio.to_thread(_carelog, settings, "import", str(bad), "--programme", programme)
    assert done.returncode == 1
    assert "line 5:" in done.stderr and "出生年份" in done.stderr
    assert "Traceback" not in done.stderr
    dry = await asyncio.to_thread(
        _carelog, settings, "import", str(good), "--programme", programme, "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert await _referenced_people(database) == before
    real = await asyncio.to_thread(
        _carelog, settings, "import", str(good), "--programme", programme, "--by", personas.STAFF
    )
    assert real.returncode == 0, real.stderr
    assert "create 6" in real.stdout
    assert await _referenced_people(database) == before + 6


async def test_a_second_file_updates_names_years_areas_and_notes_and_refuses_type_changes(
    database: Database, world: World
) -> None:
    """The update path: the same references with changed cells update those fields only; a reference
    that names someone of another 类型, or an unknown area, is an error row and the file writes nothing."""
    songfeng = "梧桐街道/松风社区"
    rows = registry_rows(4, prefix="U")
    rows.append(["UM1", "爱心妈妈", "更新妈妈", "", GUIYUAN, "", "", ""])
    first = await _check(database, world, as_csv(rows))
    assert first.plan_id is not None and first.count("create") == 5
    await _commit(database, world, first.plan_id)

    changed = [list(r) for r in rows]
    changed[0][2], changed[0][3], changed[0][4], changed[0][7] = "新名字", "1986", songfeng, "搬家了"
    changed[1][2] = "改名的儿童"
    changed[4][2], changed[4][4] = "改名妈妈", songfeng
    second = await _check(database, world, as_csv(changed))
    assert second.errors == [], second.errors
    assert second.count("update") == 3 and second.count("unchanged") == 2
    assert second.plan_id is not None
    await _commit(database, world, second.plan_id)
    async with database.transaction(read_only=True) as db:
        guardian = await db.scalar(select(Person).where(Person.reference == "UG00000"))
        child = await db.scalar(select(Person).where(Person.reference == "UC00000"))
        mother = await db.scalar(
            select(User)
            .join(UserReference, UserReference.user_id == User.id)
            .where(UserReference.reference == "UM1")
        )
    assert guardian is not None and (guardian.display_name, guardian.birth_year, guardian.note) == (
        "新名字",
        1986,
        "搬家了",
    )
    assert child is not None and child.display_name == "改名的儿童"
    assert mother is not None and mother.display_name == "改名妈妈"
    again = await _check(database, world, as_csv(changed))
    assert again.count("unchanged") == len(again.rows)

    wrong = [list(r) for r in changed]
    wrong[0][1] = "居民"  # a guardian's reference under another 类型
    wrong[4][1] = "社工"  # a caring mother's reference as a social worker
    wrong[2][4] = "梧桐街道/不存在社区"
    refused = await _check(database, world, as_csv(wrong))
    assert len(refused.errors) >= 3 and refused.plan_id is None
