"""A pillar mother's file through the pages: screening her in (an agency worker, staff), the file page,
keeping it up to date (a need, the profile, a child) with its history, and the mothers list."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend import clock
from backend.audit import AuditEvent
from backend.cases.models import Case, CaseDimension, CaseStatus, CloseReason
from backend.db import Database
from backend.people.models import Person, PersonKind
from backend.pillar.models import Agency, AgencyRole, Need, PillarFile, ProfileVersion, Qualification
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import ZONE, file_ids, post, today


async def dimensions(database: Database, world: World) -> dict[str, int]:
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(CaseDimension.code, CaseDimension.id).where(
                CaseDimension.programme_id == world.cast.programmes["pillar"].id
            )
        )
        return {code: dimension_id for code, dimension_id in rows}


async def screening_fields(database: Database, world: World, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "display_name": "周小红",
        "birth_year": "1988",
        "area_id": str(world.cast.areas["guiyuan"].id),
        "qualification": "husband_unable",
        "household_note": "丈夫因病瘫痪在床。",
        "reference": "DLZ-2026-031",
    }
    for n, dimension_id in enumerate((await dimensions(database, world)).values(), start=1):
        fields[f"need_level-{dimension_id}"] = str(1 + n % 5)
        fields[f"need_text-{dimension_id}"] = f"需求{n}"
    fields.update(extra)
    return fields


async def delivering_agency(database: Database, world: World) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Agency.id).where(
                Agency.programme_id == world.cast.programmes["pillar"].id,
                Agency.role == AgencyRole.DELIVERING,
            )
        )
    assert found is not None
    return int(found)


async def count(database: Database, model: Any) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def load_file(database: Database, file_id: int) -> tuple[PillarFile, Case, list[Person]]:
    async with database.transaction(read_only=True) as db:
        file = await db.get_one(PillarFile, file_id)
        case = await db.get_one(Case, file.case_id)
        children = list(
            await db.scalars(select(Person).where(Person.guardian_id == case.person_id).order_by(Person.id))
        )
        return file, case, children


def created_file_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:3000]
    location = response.headers["location"]
    assert location.startswith("/pillar/mothers/")
    return int(location.split("/")[3].split("?")[0])


async def test_agency_worker_screens_a_mother_with_children_and_leads_her_case(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    programme_id = world.cast.programmes["pillar"].id
    page = await xie.get(f"/pillar/{programme_id}/mothers/new")
    assert page.status_code == 200 and 'id="pillar-new-form"' in page.text
    assert "青溪阳光社工事务所" in page.text and "selected" in page.text  # her own agency preselected
    fields = await screening_fields(
        database,
        world,
        **{
            "child_name-1": "周一",
            "child_birth_year-1": "2015",
            "child_name-3": "周三",
            "child_birth_year-3": "",
        },
    )
    del fields["reference"]
    fields["agency_id"] = str(await delivering_agency(database, world))
    file_id = created_file_id(await post(xie, f"/pillar/{programme_id}/mothers", fields))
    file, case, children = await load_file(database, file_id)
    assert file.agency_id is not None and file.created_by_id == world.user_id(personas.AGENCY_WORKER)
    assert case.lead_worker_id == world.user_id(personas.AGENCY_WORKER)
    assert [(c.display_name, c.birth_year, c.kind) for c in children] == [
        ("周一", 2015, PersonKind.CHILD),
        ("周三", None, PersonKind.CHILD),
    ]
    async with database.transaction(read_only=True) as db:
        needs = list(await db.scalars(select(Need).where(Need.file_id == file_id)))
        profile = await db.scalar(select(ProfileVersion).where(ProfileVersion.file_id == file_id))
    assert len(needs) == 5 and {n.noted_on.isoformat() for n in needs} == {today()}
    assert profile is not None and profile.qualification is Qualification.HUSBAND_UNABLE
    shown = await xie.get(f"/pillar/mothers/{file_id}")
    assert shown.status_code == 200 and "周小红" in shown.text
    age = clock.today_in(ZONE).year - 2015
    assert f"{age}" in shown.text and 'id="pillar-plan-link"' in shown.text
    assert f'href="/pillar/mothers/{file_id}/survey"' in shown.text
    assert 'id="pillar-group"' in shown.text and 'id="pillar-contacts"' in shown.text


async def test_staff_screen_a_mother_without_children_or_agency(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    programme_id = world.cast.programmes["pillar"].id
    fields = await screening_fields(
        database, world, qualification="other", qualification_note="丈夫长期在外失联"
    )
    file_id = created_file_id(await post(zhou, f"/pillar/{programme_id}/mothers", fields))
    file, case, children = await load_file(database, file_id)
    assert file.agency_id is None and children == []
    assert case.lead_worker_id is None and case.status is CaseStatus.REQUESTED
    listed = await zhou.get("/pillar/mothers")
    assert f'id="pillar-file-{file_id}"' in listed.text


async def test_other_reason_without_a_note_is_400_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    programme_id = world.cast.programmes["pillar"].id
    before = (await count(database, PillarFile), await count(database, Person))
    fields = await screening_fields(database, world, qualification="other", **{"child_name-1": "周一"})
    response = await post(xie, f"/pillar/{programme_id}/mothers", fields)
    assert response.status_code == 400
    assert 'id="qualification_note-error"' in response.text and "周小红" in response.text  # re-shown
    bad = await screening_fields(
        database, world, birth_year="18", area_id="999999", **{"child_birth_year-2": "1800"}
    )
    response = await post(xie, f"/pillar/{programme_id}/mothers", bad)
    assert response.status_code == 400
    for name in ("birth_year", "area_id", "child_name-2", "child_birth_year-2"):
        assert f'id="{name}-error"' in response.text, name
    assert (await count(database, PillarFile), await count(database, Person)) == before


async def test_a_reference_already_taken_is_400_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    programme_id = world.cast.programmes["pillar"].id
    fields = await screening_fields(database, world, **{"child_name-1": "周一"})
    created_file_id(await post(zhou, f"/pillar/{programme_id}/mothers", fields))
    before = (await count(database, PillarFile), await count(database, Person))
    again = await post(zhou, f"/pillar/{programme_id}/mothers", fields | {"display_name": "另一位"})
    assert again.status_code == 400 and 'id="reference-error"' in again.text
    assert (await count(database, PillarFile), await count(database, Person)) == before


async def test_cadre_updates_a_dimension_and_the_history_keeps_both(
    client_as: ClientAs, world: World, database: Database
) -> None:
    lin = await client_as(personas.CADRE)
    huang = (await file_ids(database, world))["huang"]
    employment = (await dimensions(database, world))["employment"]
    page = await lin.get(f"/pillar/mothers/{huang}")
    assert page.status_code == 200 and f'id="pillar-need-form-{employment}"' in page.text
    fields = {
        "dimension_id": str(employment),
        "level": "4",
        "text": "已在家政公司试工。",
        "noted_on": today(),
    }
    assert (await post(lin, f"/pillar/mothers/{huang}/needs", fields)).status_code == 303
    shown = await lin.get(f"/pillar/mothers/{huang}")
    assert "已在家政公司试工。" in shown.text and "林桂芳" in shown.text
    history = await lin.get(f"/pillar/mothers/{huang}/history")
    assert history.status_code == 200
    assert "已在家政公司试工。" in history.text and "只能打零工，想学一门手艺。" in history.text
    assert history.text.index("已在家政公司试工。") < history.text.index("只能打零工，想学一门手艺。")
    future = (clock.today_in(ZONE) + timedelta(days=1)).isoformat()
    for bad in ({"level": "6"}, {"noted_on": future}, {"noted_on": "soon"}, {"dimension_id": "x"}):
        response = await post(lin, f"/pillar/mothers/{huang}/needs", fields | bad)
        assert response.status_code == 400, bad
    async with database.transaction(read_only=True) as db:
        rows = await db.scalar(
            select(func.count()).where(Need.file_id == huang, Need.dimension_id == employment)
        )
    assert rows == 2


async def test_a_need_without_a_day_is_noted_today(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    yang = (await file_ids(database, world))["yang"]
    counselling = (await dimensions(database, world))["counselling"]
    fields = {"dimension_id": str(counselling), "level": "4"}
    assert (await post(xie, f"/pillar/mothers/{yang}/needs", fields)).status_code == 303
    async with database.transaction(read_only=True) as db:
        latest = await db.scalar(select(Need).where(Need.file_id == yang).order_by(Need.id.desc()).limit(1))
    assert latest is not None and latest.noted_on == date.fromisoformat(today()) and latest.level == 4


async def test_profile_update_keeps_every_version(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    huang = (await file_ids(database, world))["huang"]
    fields = {"qualification": "widowed", "household_note": "已搬到公租房。"}
    assert (await post(xie, f"/pillar/mothers/{huang}/profile", fields)).status_code == 303
    refused = await post(xie, f"/pillar/mothers/{huang}/profile", {"qualification": "other"})
    assert refused.status_code == 400 and 'id="qualification_note-error"' in refused.text
    async with database.transaction(read_only=True) as db:
        versions = list(
            await db.scalars(
                select(ProfileVersion).where(ProfileVersion.file_id == huang).order_by(ProfileVersion.version)
            )
        )
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].household_note == "已搬到公租房。" and versions[0].household_note.startswith("丈夫")
    page = await xie.get(f"/pillar/mothers/{huang}")
    assert "已搬到公租房。" in page.text and 'id="pillar-profile-version"' in page.text
    history = await xie.get(f"/pillar/mothers/{huang}/history")
    assert 'id="pillar-profile-version-2"' in history.text and 'id="pillar-profile-version-1"' in history.text


async def test_a_child_is_added_and_audited(client_as: ClientAs, world: World, database: Database) -> None:
    lin = await client_as(personas.CADRE)
    yang = (await file_ids(database, world))["yang"]
    response = await post(
        lin, f"/pillar/mothers/{yang}/children", {"child_name": "杨小宝", "child_birth_year": "2024"}
    )
    assert response.status_code == 303
    assert (
        await post(lin, f"/pillar/mothers/{yang}/children", {"child_birth_year": "2024"})
    ).status_code == 400
    _file, _case, children = await load_file(database, yang)
    assert [c.display_name for c in children] == ["杨思琪", "杨小宝"]
    async with database.transaction(read_only=True) as db:
        actions = list(
            await db.scalars(select(AuditEvent.action).where(AuditEvent.action == "pillar.child_added"))
        )
    assert actions == ["pillar.child_added"]
    page = await lin.get(f"/pillar/mothers/{yang}")
    assert "杨小宝" in page.text


async def test_a_closed_case_refuses_changes_with_409(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    huang = (await file_ids(database, world))["huang"]
    async with database.transaction() as db:
        file = await db.get_one(PillarFile, huang)
        await db.execute(
            update(Case)
            .where(Case.id == file.case_id)
            .values(status=CaseStatus.CLOSED, closed_at=clock.utcnow(), close_reason=CloseReason.GOALS_MET)
        )
    employment = (await dimensions(database, world))["employment"]
    need = await post(xie, f"/pillar/mothers/{huang}/needs", {"dimension_id": str(employment), "level": "5"})
    profile = await post(xie, f"/pillar/mothers/{huang}/profile", {"qualification": "divorced"})
    child = await post(xie, f"/pillar/mothers/{huang}/children", {"child_name": "黄三"})
    assert (need.status_code, profile.status_code, child.status_code) == (409, 409, 409)
    page = await xie.get(f"/pillar/mothers/{huang}")
    assert page.status_code == 200 and 'id="pillar-profile-form"' not in page.text


async def test_the_mother_sees_her_own_file_and_plan_and_not_another(
    client_as: ClientAs, world: World, database: Database
) -> None:
    huang = await client_as(personas.PILLAR_MOTHER)
    ids = await file_ids(database, world)
    listed = await huang.get("/pillar/mothers")
    assert listed.status_code == 303 and listed.headers["location"] == f"/pillar/mothers/{ids['huang']}"
    page = await huang.get(f"/pillar/mothers/{ids['huang']}")
    assert page.status_code == 200 and 'id="pillar-my-plan"' in page.text
    assert "取得家政服务员证书，找到稳定工作。" in page.text and "技能培训" in page.text
    assert 'href="/pillar/survey"' in page.text and 'id="pillar-plan-link"' not in page.text
    assert 'id="pillar-need-form-' not in page.text  # she reads, she does not keep the file
    assert (await huang.get(f"/pillar/mothers/{ids['huang']}/history")).status_code == 200
    assert (await huang.get(f"/pillar/mothers/{ids['yang']}")).status_code == 404
    assert (await huang.get(f"/pillar/mothers/{ids['yang']}/history")).status_code == 404


async def test_the_list_shows_each_persona_exactly_her_files(
    client_as: ClientAs, world: World, database: Database
) -> None:
    ids = await file_ids(database, world)
    expected = {
        personas.PILLAR_STAFF: {"huang", "yang"},
        personas.AGENCY_WORKER: {"huang", "yang"},
        personas.CADRE: {"huang", "yang"},
        personas.VOLUNTEER: {"huang", "yang"},
        personas.HUANG_ONLY_VOLUNTEER: {"huang"},
        personas.YANG_ONLY_VOLUNTEER: {"yang"},
    }
    for handle, keys in expected.items():
        page = await (await client_as(handle)).get("/pillar/mothers")
        assert page.status_code == 200, handle
        shown = {key for key, file_id in ids.items() if f'id="pillar-file-{file_id}"' in page.text}
        assert shown == keys, handle
        assert 'id="nav-pillar"' in page.text, handle  # the menu leads there
        adds = 'id="pillar-add-links"' in page.text
        assert adds == (handle in (personas.PILLAR_STAFF, personas.AGENCY_WORKER)), handle
    yang = await client_as(personas.OTHER_PILLAR_MOTHER)
    assert (await yang.get("/pillar/mothers")).headers["location"] == f"/pillar/mothers/{ids['yang']}"
    for handle in (personas.OUTSIDER, personas.CARING_MOTHER, personas.SOCIAL_WORKER):
        browser = await client_as(handle)
        assert (await browser.get("/pillar/mothers")).status_code == 404, handle
        assert 'id="nav-pillar"' not in (await browser.get("/account")).text, handle
