"""Importing pillar mothers from a spreadsheet, in two phases: the dry run writes no mother and names
every bad row's reason; the commit screens exactly the checked mothers (files, children, needs), all or
nothing, and refuses a plan committed twice or one whose data changed; the same file again is
"unchanged"; only the programme's staff and its agencies' workers may import."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from backend import clock
from backend.audit import AuditEvent
from backend.cases.models import Case
from backend.db import Database
from backend.people.import_models import ImportPlan
from backend.people.models import ErasedReference, Person, PersonKind, Programme, Role, User
from backend.people.rights_service import reference_sha256
from backend.people.service import do_add_membership
from backend.pillar.agency_service import do_place_worker
from backend.pillar.demo import DELIVERING
from backend.pillar.import_rows import STATUS_COLUMN
from backend.pillar.import_service import check_file, importer_for
from backend.pillar.models import Agency, Need, PillarFile, ProfileVersion, Qualification
from backend.pillar.service import ScreeningDraft, do_screen_mother
from tests import personas
from tests.conftest import ClientAs, World, csrf_token

DATA = Path(__file__).parents[2] / "data" / "pillar"
HEADER = [
    "编号",
    "姓名",
    "出生年份",
    "区域",
    "符合条件",
    "说明",
    "家庭情况",
    "子女",
    "服务机构",
    "就业创业",
    "家庭教育",
    "心理疏导",
    "人文关怀",
    "生活改善",
]
GOOD = [
    [
        "X001",
        "孙晓红",
        "1984",
        "梧桐街道/桂园社区",
        "离异",
        "",
        "租房",
        "孙一 2012；孙二 2016",
        DELIVERING,
        "2 只能打零工",
        "",
        "",
        "",
        "",
    ],
    ["X002", "周丽", "1988", "荷塘社区", "丧偶", "", "", "周小 2018", "", "", "3 辅导吃力", "2 失眠", "", ""],
    [
        "X003",
        "吴芳",
        "",
        "松风社区",
        "丈夫丧失劳动能力",
        "",
        "=1+1",
        "",
        DELIVERING,
        "",
        "",
        "",
        "",
        "1 房屋危旧",
    ],
]


def as_xlsx(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)  # "=1+1" becomes a formula cell, as a person typing it makes one
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER, *rows])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def base(world: World) -> str:
    return f"/pillar/{world.cast.programmes['pillar'].id}/import"


async def upload(
    browser: httpx.AsyncClient, world: World, data: bytes, name: str = "名册.xlsx"
) -> httpx.Response:
    return await browser.post(
        base(world), data={"_csrf_token": await csrf_token(browser)}, files={"file": (name, data)}
    )


async def commit(browser: httpx.AsyncClient, world: World, plan_id: int) -> httpx.Response:
    return await browser.post(
        base(world) + "/commit", data={"_csrf_token": await csrf_token(browser), "plan_id": str(plan_id)}
    )


async def last_plan(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.max(ImportPlan.id))) or 0)


async def counts(database: Database, world: World) -> tuple[int, int, int]:
    """(files, children of the programme, needs) now."""
    programme_id = world.cast.programmes["pillar"].id
    async with database.transaction(read_only=True) as db:
        files = await db.scalar(select(func.count()).where(PillarFile.programme_id == programme_id))
        children = await db.scalar(
            select(func.count()).where(Person.programme_id == programme_id, Person.kind == PersonKind.CHILD)
        )
        needs = await db.scalar(
            select(func.count())
            .select_from(Need)
            .join(PillarFile)
            .where(PillarFile.programme_id == programme_id)
        )
    return int(files or 0), int(children or 0), int(needs or 0)


async def test_the_dry_run_writes_no_mother_and_the_commit_files_exactly_the_plan(
    database: Database, world: World, client_as: ClientAs
) -> None:
    staff = await client_as(personas.PILLAR_STAFF)
    assert (await staff.get(base(world))).status_code == 200
    template = await staff.get(base(world) + "/template.xlsx")
    assert template.status_code == 200
    headers = next(load_workbook(io.BytesIO(template.content)).worksheets[0].iter_rows(values_only=True))
    assert list(headers) == HEADER
    before = await counts(database, world)

    checked = await upload(staff, world, as_xlsx(GOOD))
    assert checked.status_code == 200, checked.text
    assert 'id="pillar-import-commit"' in checked.text
    assert await counts(database, world) == before  # nothing before the commit
    plan_id = await last_plan(database)
    result = await staff.get(base(world) + f"/result.xlsx?plan_id={plan_id}")
    assert result.status_code == 200
    sheet = load_workbook(io.BytesIO(result.content)).worksheets[0]
    result_rows = list(sheet.iter_rows(values_only=True))
    assert result_rows[0][-1] == STATUS_COLUMN and result_rows[3][6] == "=1+1"  # a formula is data
    assert [r[-1] for r in result_rows[1:]] == ["将新增"] * 3
    reread = await upload(staff, world, result.content)  # the result file can be uploaded again
    assert reread.status_code == 200 and 'role="status"' not in reread.text.split("plan-counts")[1]

    done = await commit(staff, world, plan_id)
    assert done.status_code == 200, done.text
    assert 'id="pillar-import-done"' in done.text
    files, children, needs = await counts(database, world)
    assert (files, children, needs) == (before[0] + 3, before[1] + 3, before[2] + 4)
    async with database.transaction(read_only=True) as db:
        wu = await db.scalar(
            select(ProfileVersion)
            .join(PillarFile)
            .join(Case, Case.id == PillarFile.case_id)
            .join(Person, Person.id == Case.person_id)
            .where(Person.reference == "X003")
        )
        assert wu is not None and wu.household_note == "=1+1"
        agencies = dict(
            (
                await db.execute(
                    select(Person.reference, PillarFile.agency_id)
                    .join(Case, Case.person_id == Person.id)
                    .join(PillarFile, PillarFile.case_id == Case.id)
                    .where(Person.reference.in_(("X001", "X002")))
                )
            ).all()
        )
        assert agencies["X001"] is not None and agencies["X002"] is None
        actions = [a for (a,) in (await db.execute(select(AuditEvent.action))).all()]
        assert actions.count("pillar.file_opened") >= 3 + 2 and "pillar.imported" in actions

    again = await commit(staff, world, plan_id)  # the same plan twice
    assert again.status_code == 409
    assert await counts(database, world) == (files, children, needs)

    same = await upload(staff, world, as_xlsx(GOOD))  # the same file again
    assert same.status_code == 200
    assert same.text.count('class="unchanged"') == 3
    assert 'id="pillar-import-commit"' not in same.text

    changed = [row[:] for row in GOOD]
    changed[1][1] = "周丽华"
    refused = await upload(staff, world, as_xlsx(changed))
    assert refused.status_code == 422
    assert 'id="line-3"' in refused.text and "X002" in refused.text


async def test_a_file_with_bad_rows_commits_nothing_and_says_why_for_each(
    database: Database, world: World, client_as: ClientAs
) -> None:
    bad = [
        GOOD[0],
        ["B1", "甲", "1980", "不存在社区", "离异", "", "", "", "", "", "", "", "", ""],
        ["B2", "乙", "1980", "荷塘社区", "其他", "", "", "", "", "", "", "", "", ""],
        ["B3", "丙", "1980", "荷塘社区", "丧偶", "", "", "", "", "7 很好", "", "", "", ""],
        ["B3", "丁", "1980", "荷塘社区", "丧偶", "", "", "", "", "", "", "", "", ""],
        ["B5", "戊", "1980", "荷塘社区", "再婚", "", "", "小孩 20x5", "别的机构", "", "", "", "", ""],
    ]
    before = await counts(database, world)
    staff = await client_as(personas.PILLAR_STAFF)
    page = await upload(staff, world, as_csv(bad), "名册.csv")
    assert page.status_code == 422
    assert "UTF-8 (BOM)" in page.text
    assert 'id="pillar-import-commit"' not in page.text
    # Every row's reason, in Chinese (the user's language, the app's first).
    for line, words in (
        (3, "本项目中没有区域“不存在社区”"),
        (4, "请在“说明”中写明原因"),
        (5, "就业创业：请先写需求程度"),
        (6, "编号 B3 重复：第 5 行也有"),
        (7, "符合条件须为以下之一"),
        (7, "子女“小孩 20x5”"),
        (7, "服务机构“别的机构”不是本项目的服务承接机构"),
    ):
        row = page.text.split(f'id="line-{line}"')[1].split("</tr>")[0]
        assert words in row, (line, words, row)
    refused = await commit(staff, world, await last_plan(database))
    assert refused.status_code == 409
    assert await counts(database, world) == before


async def test_gb18030_and_bom_csv_read_the_same(database: Database, world: World) -> None:
    plans = []
    for name in ("roster-utf8-bom.csv", "roster-gb18030.csv"):
        async with database.transaction() as db:
            programme = await db.get_one(Programme, world.cast.programmes["pillar"].id)
            user = await _principal(db, world, personas.PILLAR_STAFF)
            importer = await importer_for(db, user, programme)
            plans.append(
                await check_file(
                    db, programme, (DATA / name).read_bytes(), importer=importer, now=clock.utcnow()
                )
            )
    bom, gb = plans
    assert (bom.encoding, gb.encoding) == ("UTF-8 (BOM)", "GB18030")
    assert [r.cells for r in bom.rows] == [r.cells for r in gb.rows]
    assert [r.action for r in bom.rows] == ["create"] * 3 == [r.action for r in gb.rows]
    draft = bom.rows[2].draft
    assert draft is not None and [(c.display_name, c.birth_year) for c in draft.children] == [
        ("钱多多", 2013),
        ("钱乐乐", 2017),
    ]


async def test_the_commit_refuses_when_the_data_changed_since_the_dry_run(
    database: Database, world: World, client_as: ClientAs
) -> None:
    staff = await client_as(personas.PILLAR_STAFF)
    checked = await upload(staff, world, as_xlsx(GOOD))
    assert checked.status_code == 200
    plan_id = await last_plan(database)
    before = await counts(database, world)
    async with database.transaction() as db:  # someone files X002 by hand in between
        programme = await db.get_one(Programme, world.cast.programmes["pillar"].id)
        hetang = world.cast.areas["hetang"]
        actor = await _principal(db, world, personas.PILLAR_STAFF)
        await do_screen_mother(
            db,
            programme=programme,
            draft=ScreeningDraft("周丽", 1988, hetang, Qualification.WIDOWED, reference="X002"),
            actor=actor,
        )
    refused = await commit(staff, world, plan_id)
    assert refused.status_code == 409
    assert 'id="import-refused"' in refused.text
    files, children, needs = await counts(database, world)
    assert files == before[0] + 1 and children == before[1] and needs == before[2]


async def test_an_agency_worker_imports_for_her_agency_within_her_areas(
    database: Database, world: World, client_as: ClientAs
) -> None:
    """李娜 becomes a worker of the programme over Wutong Street only, placed with the agency."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["pillar"].id)
        li = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        await do_add_membership(
            db,
            user=li,
            programme=programme,
            area=world.cast.areas["wutong"],
            role=Role.SOCIAL_WORKER,
            actor=None,
        )
        agency = await db.scalar(
            select(Agency).where(Agency.programme_id == programme.id, Agency.name == DELIVERING)
        )
        assert agency is not None
        await do_place_worker(db, agency, li, actor=await _principal(db, world, personas.PILLAR_STAFF))
        db.add(ErasedReference(programme_id=programme.id, reference_sha256=reference_sha256("GONE1")))
    worker = await client_as(personas.SOCIAL_WORKER)
    rows = [
        ["W1", "郑敏", "1986", "桂园社区", "离异", "", "", "", "", "2 打零工", "", "", "", ""],
        ["W2", "冯洁", "1986", "荷塘社区", "离异", "", "", "", "", "", "", "", "", ""],
        ["GONE1", "陈某", "1986", "桂园社区", "离异", "", "", "", "", "", "", "", "", ""],
    ]
    page = await upload(worker, world, as_xlsx(rows))
    assert page.status_code == 422
    assert "荷塘社区" in page.text.split('id="line-3"')[1].split("</tr>")[0]
    assert "GONE1" in page.text.split('id="line-4"')[1].split("</tr>")[0]
    ok = await upload(worker, world, as_xlsx(rows[:1]))
    assert ok.status_code == 200
    assert (await commit(worker, world, await last_plan(database))).status_code == 200
    async with database.transaction(read_only=True) as db:
        found = (
            await db.execute(
                select(PillarFile.agency_id, Case.lead_worker_id)
                .join(Case, Case.id == PillarFile.case_id)
                .join(Person, Person.id == Case.person_id)
                .where(Person.reference == "W1")
            )
        ).one()
        assert found == (agency.id, world.user_id(personas.SOCIAL_WORKER))


@pytest.mark.parametrize(
    ("handle", "status"),
    [
        (personas.VOLUNTEER, 403),
        (personas.PILLAR_MOTHER, 403),
        (personas.CADRE, 403),
        (personas.CARING_MOTHER, 404),
        (personas.OUTSIDER, 404),
    ],
)
async def test_who_may_not_import(
    database: Database, world: World, client_as: ClientAs, handle: str, status: int
) -> None:
    staff = await client_as(personas.PILLAR_STAFF)
    assert (await upload(staff, world, as_xlsx(GOOD))).status_code == 200
    plan_id = await last_plan(database)
    browser = await client_as(handle)
    assert (await browser.get(base(world))).status_code == status
    assert (await browser.get(base(world) + "/template.xlsx")).status_code == status
    assert (await upload(browser, world, as_xlsx(GOOD))).status_code == status
    assert (await commit(browser, world, plan_id)).status_code == status
    assert (await browser.get(base(world) + f"/result.xlsx?plan_id={plan_id}")).status_code == status


async def test_another_staff_member_cannot_commit_or_read_her_plan(
    database: Database, world: World, client_as: ClientAs
) -> None:
    staff = await client_as(personas.PILLAR_STAFF)
    assert (await upload(staff, world, as_xlsx(GOOD))).status_code == 200
    plan_id = await last_plan(database)
    other = await client_as(personas.PILLAR_PAYER)
    assert (await commit(other, world, plan_id)).status_code == 404
    assert (await other.get(base(world) + f"/result.xlsx?plan_id={plan_id}")).status_code == 404


async def _principal(db, world: World, handle: str):  # type: ignore[no-untyped-def]
    from backend.cases.demo import principal_of

    return await principal_of(db, await db.get_one(User, world.user_id(handle)))
