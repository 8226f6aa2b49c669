"""The pillar-mother programme's figures on both databases: each figure by value on the demo (two files
opened 45 days ago with their groups, one approved training, one goal, the contract) plus rows written
here straight through the models (a contact, a survey answer, an approved training delivery, a money
release); period boundaries in Asia/Shanghai; the area roll-up; the page, the CSV and the XLSX
(injection-safe); the programme's staff only."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from backend import clock
from backend.cases.models import Case, Delivery, DeliveryStatus, PlanItem
from backend.db import Database
from backend.people.models import Area, Person, Programme
from backend.pillar.figures import PillarFigures, pillar_figures, ratio_x100
from backend.pillar.models import (
    Contact,
    ContactChannel,
    Contract,
    ContractStage,
    PillarFile,
    Round,
    SurveyResponse,
)
from backend.settlement.models import ContractRelease
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import NAMES, ZONE

TODAY = clock.today_in(ZONE)
START = TODAY - timedelta(days=60)
END = TODAY + timedelta(days=1)


async def file_ids(database: Database, world: World) -> dict[str, int]:
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(Person.display_name, PillarFile.id)
            .join(Case, Case.id == PillarFile.case_id)
            .join(Person, Person.id == Case.person_id)
            .where(PillarFile.programme_id == world.cast.programmes["pillar"].id)
        )
        by_name = {name: file_id for name, file_id in rows}
    return {key: by_name[name] for key, name in NAMES.items()}


async def figures(
    database: Database, world: World, start: date = START, end: date = END, area: str | None = None
) -> PillarFigures:
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, world.cast.programmes["pillar"].id)
        chosen = await db.get_one(Area, world.cast.areas[area].id) if area else None
        return await pillar_figures(db, programme, start, end, chosen)


async def add_rows(database: Database, world: World) -> tuple[str, int]:
    """A phone contact with Yang yesterday (her group is overdue in the demo); Yang's mid-term answers
    (4, 4, 4, 5); a second approved training for Huang with 3 people; a stage of the contract that the
    demo has not released, released today. Returns that stage's amount."""
    files = await file_ids(database, world)
    programme_id = world.cast.programmes["pillar"].id
    async with database.transaction() as db:
        huang = await db.get_one(PillarFile, files["huang"])
        yang = await db.get_one(PillarFile, files["yang"])
        db.add(
            Contact(
                client_uuid=uuid.uuid4(),
                file_id=yang.id,
                programme_id=programme_id,
                area_id=yang.area_id,
                by_user_id=world.user_id(personas.VOLUNTEER),
                contacted_on=TODAY - timedelta(days=1),
                channel=ContactChannel.PHONE,
                minutes=30,
                content_sha256="0" * 64,
                submitted_at=clock.utcnow(),
            )
        )
        db.add(
            SurveyResponse(
                client_uuid=uuid.uuid4(),
                file_id=yang.id,
                programme_id=programme_id,
                area_id=yang.area_id,
                round=Round.MID_TERM,
                answered_on=TODAY,
                q_overall=4,
                q_group=4,
                q_services=4,
                q_life=5,
                recorded_by_id=world.user_id(personas.OTHER_PILLAR_MOTHER),
                content_sha256="0" * 64,
            )
        )
        item = await db.scalar(select(PlanItem).where(PlanItem.case_id == huang.case_id))
        assert item is not None
        case = await db.get_one(Case, huang.case_id)
        db.add(
            Delivery(
                client_uuid=uuid.uuid4(),
                case_id=case.id,
                plan_item_id=item.id,
                programme_id=programme_id,
                area_id=case.area_id,
                person_id=case.person_id,
                submitted_by_id=world.user_id(personas.AGENCY_WORKER),
                delivered_on=TODAY - timedelta(days=2),
                minutes=90,
                people_count=3,
                at_home=False,
                content_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                submitted_at=clock.utcnow(),
                status=DeliveryStatus.APPROVED,
            )
        )
        contract = await db.scalar(select(Contract).where(Contract.programme_id == programme_id))
        assert contract is not None
        contract.title = "=HYPERLINK(1)"  # a title a spreadsheet would run: the exports keep it text
        released = select(ContractRelease.stage_id).scalar_subquery()
        stage = await db.scalar(
            select(ContractStage)
            .where(ContractStage.contract_id == contract.id, ContractStage.id.not_in(released))
            .order_by(ContractStage.position.desc())
            .limit(1)
        )
        assert stage is not None
        label, amount = stage.label, stage.amount_fen
        db.add(
            ContractRelease(
                programme_id=programme_id,
                contract_id=contract.id,
                stage_id=stage.id,
                amount_fen=stage.amount_fen,
                released_on=TODAY,
                released_by_id=world.user_id(personas.PILLAR_PAYER),
            )
        )
    return label, amount


async def test_each_figure_of_the_demo_by_value(world: World, database: Database) -> None:
    found = await figures(database, world)
    assert (found.families_served, found.new_files) == (2, 2)
    assert found.services["training"] == (1, 1)
    assert found.services["job"] == (0, 0) and found.services["counselling"] == (0, 0)
    assert found.files_with_group == 2
    assert found.contacts_per_group_x100 == ratio_x100(found.contacts_of_groups, 2)
    assert 1 <= found.groups_overdue <= 2  # Yang's group has not been in touch for 14 days
    goals = {g.dimension: (g.set, g.met) for g in found.goals}
    assert goals["就业创业"] == (1, 0) and goals["家庭教育"] == (0, 0)
    assert found.budget_fen == 20_000_000
    # Long before the demo: nothing but the contract's budget (the contract runs the whole year).
    before = await figures(database, world, date(2020, 1, 1), date(2020, 2, 1))
    assert (before.families_served, before.contacts, before.budget_fen, before.released_fen) == (0, 0, 0, 0)
    assert before.services["training"] == (0, 0) and before.files_with_group == 0
    assert before.contacts_per_group_x100 is None and before.groups_overdue == 0


async def test_rows_added_count_by_value(world: World, database: Database) -> None:
    base = await figures(database, world)
    stage, amount = await add_rows(database, world)
    found = await figures(database, world)
    assert found.services["training"] == (base.services["training"][0] + 1, base.services["training"][1] + 3)
    assert found.contacts == base.contacts + 1
    phone = ContactChannel.PHONE
    assert found.contacts_by_channel[phone] == base.contacts_by_channel[phone] + 1
    assert found.contact_minutes == base.contact_minutes + 30
    assert found.contacts_of_groups == base.contacts_of_groups + 1
    assert found.contacts_per_group_x100 == ratio_x100(found.contacts_of_groups, 2)
    assert found.groups_overdue == base.groups_overdue - 1  # Yang's group was in touch yesterday
    survey, before = found.surveys[Round.MID_TERM], base.surveys[Round.MID_TERM]
    assert survey.answers == before.answers + 1 and survey.on_paper == before.on_paper
    if before.answers == 0:
        assert survey.mean_x100 == 425  # (4 + 4 + 4 + 5) / 4
    assert found.released_fen == base.released_fen + amount
    assert ("=HYPERLINK(1)", stage, amount) in [(r.contract, r.stage, r.amount_fen) for r in found.releases]
    # A range ending the day before yesterday: yesterday's contact and today's answers and money are
    # outside it, the training of two days ago inside.
    earlier = await figures(database, world, end=TODAY - timedelta(days=1))
    assert earlier.groups_overdue == base.groups_overdue
    assert earlier.services["training"] == found.services["training"]
    assert earlier.surveys[Round.MID_TERM].answers == before.answers
    assert earlier.released_fen <= base.released_fen


async def test_period_boundaries_are_local_days_in_shanghai(world: World, database: Database) -> None:
    files = await file_ids(database, world)
    async with database.transaction() as db:
        yang = await db.get_one(PillarFile, files["yang"])
        case = await db.get_one(Case, yang.case_id)
        case.opened_at = datetime(2025, 3, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 March in Shanghai
    march = await figures(database, world, date(2025, 3, 1), date(2025, 4, 1))
    april = await figures(database, world, date(2025, 4, 1), date(2025, 5, 1))
    assert (march.families_served, march.new_files) == (1, 1)
    assert (april.families_served, april.new_files) == (1, 0)
    async with database.transaction() as db:
        case = await db.get_one(Case, (await db.get_one(PillarFile, files["yang"])).case_id)
        case.opened_at = datetime(2025, 3, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 April in Shanghai
    march = await figures(database, world, date(2025, 3, 1), date(2025, 4, 1))
    april = await figures(database, world, date(2025, 4, 1), date(2025, 5, 1))
    assert march.families_served == 0
    assert (april.families_served, april.new_files) == (1, 1)


async def test_an_area_counts_everything_under_it(world: World, database: Database) -> None:
    base = await figures(database, world, area="wutong")
    _stage, amount = await add_rows(database, world)
    street = await figures(database, world, area="wutong")  # Huang's community is under this street
    assert street.families_served == 1
    assert street.contacts == base.contacts  # the contact added is Yang's
    assert street.services["training"] == (base.services["training"][0] + 1, base.services["training"][1] + 3)
    assert street.surveys[Round.MID_TERM].answers == base.surveys[Round.MID_TERM].answers
    community = await figures(database, world, area="hetang")  # Yang's community
    assert community.families_served == 1 and community.services["training"] == (0, 0)
    assert community.contacts >= 1 and community.groups_overdue == 0
    guiyuan = await figures(database, world, area="guiyuan")  # Huang's own community: as her street
    assert (guiyuan.families_served, guiyuan.contacts, guiyuan.services) == (
        1,
        street.contacts,
        street.services,
    )
    district = await figures(database, world, area="district")
    whole = await figures(database, world)
    assert district.families_served == 2 and district.contacts == whole.contacts
    assert district.contacts == street.contacts + community.contacts
    # Money is the programme's, whatever the area.
    assert street.released_fen == community.released_fen == whole.released_fen >= amount


def _query() -> str:
    return f"period=custom&start={START.isoformat()}&last={TODAY.isoformat()}"


async def test_page_csv_and_xlsx_carry_the_same_figures(
    world: World, database: Database, client_as: ClientAs
) -> None:
    stage, _amount = await add_rows(database, world)
    found = await figures(database, world)
    pillar_id = world.cast.programmes["pillar"].id
    staff = await client_as(personas.PILLAR_STAFF)
    page = await staff.get(f"/pillar/{pillar_id}/figures?{_query()}")
    assert page.status_code == 200
    released = f"{found.released_fen // 100}.{found.released_fen % 100:02d}"
    assert "服务家庭数" in page.text and released in page.text
    mean_x100 = found.surveys[Round.MID_TERM].mean_x100
    assert mean_x100 is not None and f"{mean_x100 // 100}.{mean_x100 % 100:02d} / 5" in page.text
    quarter = await staff.get(f"/pillar/{pillar_id}/figures?period=quarter&on={TODAY.isoformat()}")
    assert quarter.status_code == 200
    wutong = world.cast.areas["wutong"].id
    by_area = await staff.get(f"/pillar/{pillar_id}/figures?{_query()}&area={wutong}")
    assert by_area.status_code == 200 and f'<option value="{wutong}" selected>' in by_area.text
    for bad in ("period=week", "period=custom&start=2026-01-02&last=2026-01-01", "area=999999"):
        assert (await staff.get(f"/pillar/{pillar_id}/figures?{bad}")).status_code == 400, bad

    response = await staff.get(f"/pillar/{pillar_id}/figures.csv?{_query()}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    values = {(r[0], r[1]): r[2] for r in rows if len(r) == 3}
    assert values[("家庭", "服务家庭数")] == str(found.families_served) == "2"
    training = found.services["training"]
    assert values[("服务开展", "培训")] == str(training[0])
    assert values[("服务开展", "培训：人次")] == str(training[1])
    assert values[("帮扶小组联系", "联系次数")] == str(found.contacts)
    mean = found.surveys[Round.MID_TERM].mean_x100
    assert mean is not None
    assert values[("满意度", "中期问卷：平均满意度（满分 5）")] == f"{mean // 100}.{mean % 100:02d}"
    assert values[("资金、督导与评估（全项目）", "期内拨付（元）")] == released
    # A contract title that a spreadsheet would run stays text.
    assert ("资金、督导与评估（全项目）", f"'=HYPERLINK(1) · {stage}") in values

    response = await staff.get(f"/pillar/{pillar_id}/figures.xlsx?{_query()}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = {(r[0], r[1]): r[2] for r in sheet.iter_rows(values_only=True) if len(r) >= 3 and r[1]}
    assert cells[("家庭", "服务家庭数")] == 2
    assert Decimal(str(cells[("满意度", "中期问卷：平均满意度（满分 5）")])) == Decimal(mean) / 100
    title_cell = next(
        c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value
    )
    assert title_cell.data_type == "s"


async def test_only_the_programmes_staff_see_the_figures(
    world: World, database: Database, client_as: ClientAs
) -> None:
    pillar_id = world.cast.programmes["pillar"].id
    for handle, status in (
        (personas.PILLAR_STAFF, 200),
        (personas.PILLAR_PAYER, 200),
        (personas.CADRE, 403),
        (personas.AGENCY_WORKER, 403),
        (personas.VOLUNTEER, 403),
        (personas.PILLAR_MOTHER, 403),
        (personas.CARING_MOTHER, 404),
        (personas.OUTSIDER, 404),
    ):
        browser = await client_as(handle)
        for suffix in ("", ".csv", ".xlsx"):
            response = await browser.get(f"/pillar/{pillar_id}/figures{suffix}")
            assert response.status_code == status, (handle, suffix)


async def test_the_mothers_list_links_staff_to_the_figures(
    world: World, database: Database, client_as: ClientAs
) -> None:
    pillar_id = world.cast.programmes["pillar"].id
    staff = await client_as(personas.PILLAR_STAFF)
    page = await staff.get("/pillar/mothers")
    assert page.status_code == 200 and f'href="/pillar/{pillar_id}/figures"' in page.text
    worker = await client_as(personas.AGENCY_WORKER)
    page = await worker.get("/pillar/mothers")
    assert page.status_code == 200 and "/figures" not in page.text
