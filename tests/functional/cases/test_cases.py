"""Cases at a social-work station: opening one, the case page, who sees it, accepting, the lead, the list."""

from __future__ import annotations

from sqlalchemy import select

from backend.cases.lists import list_cases
from backend.cases.models import Case, CaseStatus
from backend.cases.service import do_open_case
from backend.db import Database
from backend.people.models import Area, Person, Programme, User
from tests.conftest import ClientAs, World
from tests.functional.cases.test_cases_support import (
    MOTHER,
    NEIGHBOUR,
    SCOUT,
    STAFF,
    WORKER_CHEN,
    WORKER_GAO,
    WORKER_HE,
    case_id_of,
    demo_case_id,
    history,
    load_case,
    open_case,
    post,
)
from tests.functional.photos_support import audit_actions
from tests.functional.settlement_support import principal_of


async def test_worker_opens_a_case_for_a_household_of_her_station_and_leads_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    page = await he.get("/cases/new")
    assert page.status_code == 200 and 'id="case-new-form"' in page.text and "唐阿姨" in page.text
    case_id = await open_case(he, world, "tang")
    case = await load_case(database, case_id)
    assert case.status is CaseStatus.ACCEPTED and case.lead_worker_id == world.user_id(WORKER_HE)
    assert case.area_id == world.cast.areas["wutong"].id
    assert await history(database, case_id) == [(None, "accepted")]
    assert [e.subject_id for e in await audit_actions(database, "case.opened")][-1] == str(case_id)
    shown = await he.get(f"/cases/{case_id}?saved=opened")
    assert shown.status_code == 200 and 'id="case-status"' in shown.text and "唐阿姨" in shown.text


async def test_a_person_with_an_open_case_is_refused_a_second_one_naming_the_first(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    first = await open_case(he, world, "tang")
    again = await post(he, "/cases/new", {"person_id": str(world.person_id("tang"))})
    assert again.status_code == 409
    assert f"/cases/{first}" in again.text and 'id="person_id-error"' in again.text
    async with database.transaction(read_only=True) as db:
        count = len(list(await db.scalars(select(Case.id).where(Case.person_id == world.person_id("tang")))))
    assert count == 1


async def test_worker_opens_a_case_for_a_new_person_she_names(
    client_as: ClientAs, world: World, database: Database
) -> None:
    gao = await client_as(WORKER_GAO)
    fields = {
        "person_id": "",
        "display_name": "钱阿婆",
        "birth_year": "1950",
        "area_id": str(world.cast.areas["guiyuan"].id),
    }
    case_id = case_id_of(await post(gao, "/cases/new", fields))
    case = await load_case(database, case_id)
    async with database.transaction(read_only=True) as db:
        person = await db.get_one(Person, case.person_id)
    assert person.display_name == "钱阿婆" and person.programme_id == world.cast.programmes["station"].id


async def test_a_person_or_area_outside_her_station_is_refused(client_as: ClientAs, world: World) -> None:
    he = await client_as(WORKER_HE)
    other = await post(he, "/cases/new", {"person_id": str(world.person_id("xu"))})  # Liu'an's household
    assert other.status_code == 400 and 'id="person_id-error"' in other.text
    foreign = await post(he, "/cases/new", {"person_id": str(world.person_id("qian"))})  # a meal resident
    assert foreign.status_code == 400
    area = await post(
        he, "/cases/new", {"display_name": "某人", "area_id": str(world.cast.areas["hetang"].id)}
    )
    assert area.status_code == 400 and 'id="area_id-error"' in area.text
    empty = await post(he, "/cases/new", {})
    assert empty.status_code == 400 and 'id="person_id-error"' in empty.text
    junk = await post(he, "/cases/new", {"person_id": "abc", "birth_year": "x" * 50})
    assert junk.status_code == 400


async def test_who_sees_a_case_and_who_may_change_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case_id = await demo_case_id(database, world)  # 徐小军 at Liu'an
    chen = await client_as(WORKER_CHEN)
    assert (await chen.get(f"/cases/{case_id}")).status_code == 200
    he = await client_as(WORKER_HE)  # another station
    assert (await he.get(f"/cases/{case_id}")).status_code == 404
    assert (
        await post(he, f"/cases/{case_id}/lead", {"lead_worker_id": str(world.user_id(WORKER_HE))})
    ).status_code == 404
    staff = await client_as(STAFF)
    page = await staff.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "徐小军" in page.text and 'id="case-order"' in page.text
    assert 'id="case-assess-link"' not in page.text  # staff read only
    for url in (
        f"/cases/{case_id}/accept",
        f"/cases/{case_id}/lead",
        f"/cases/{case_id}/plan",
        f"/cases/{case_id}/close",
    ):
        assert (
            await post(staff, url, {"lead_worker_id": str(world.user_id(WORKER_CHEN))})
        ).status_code == 403, url
    assert (await staff.get(f"/cases/{case_id}/assessments/new")).status_code == 403
    assert (await post(staff, "/cases/new", {"person_id": str(world.person_id("luo"))})).status_code == 403
    for handle in (SCOUT, NEIGHBOUR, MOTHER):
        browser = await client_as(handle)
        assert (await browser.get(f"/cases/{case_id}")).status_code == 404, handle
        assert (await browser.get("/cases")).status_code == 403, handle
        assert (await post(browser, f"/cases/{case_id}/plan", {"action": "add_goal"})).status_code == 404, (
            handle
        )
        assert (await browser.get("/cases/new")).status_code == 403, handle
    assert (await load_case(database, case_id)).lead_worker_id == world.user_id(WORKER_CHEN)


async def test_the_lead_is_handed_to_another_worker_of_the_station_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    outside = await post(he, f"/cases/{case_id}/lead", {"lead_worker_id": str(world.user_id(WORKER_CHEN))})
    assert outside.status_code == 400
    moved = await post(he, f"/cases/{case_id}/lead", {"lead_worker_id": str(world.user_id(WORKER_GAO))})
    assert moved.status_code == 303
    assert (await load_case(database, case_id)).lead_worker_id == world.user_id(WORKER_GAO)
    events = await audit_actions(database, "case.lead_changed")
    assert events[-1].change == {"lead": [world.user_id(WORKER_HE), world.user_id(WORKER_GAO)]}


async def test_a_requested_case_is_accepted_by_a_worker_who_then_leads_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    async with database.transaction() as db:
        programme = world.cast.programmes["station"]
        case = await do_open_case(
            db,
            programme=await db.get_one(Programme, programme.id),
            area=await db.get_one(Area, world.cast.areas["wutong"].id),
            person=await db.get_one(Person, world.person_id("tang")),
            lead_worker_id=None,
            actor=await db.get_one(User, world.user_id(STAFF)),
        )
        case_id = case.id
    gao = await client_as(WORKER_GAO)
    page = await gao.get(f"/cases/{case_id}")
    assert 'id="case-accept"' in page.text
    assert (await post(gao, f"/cases/{case_id}/accept")).status_code == 303
    assert (await post(gao, f"/cases/{case_id}/accept")).status_code == 303  # a re-send changes nothing
    case = await load_case(database, case_id)
    assert case.status is CaseStatus.ACCEPTED and case.lead_worker_id == world.user_id(WORKER_GAO)
    assert await history(database, case_id) == [(None, "requested"), ("requested", "accepted")]
    he = await client_as(WORKER_HE)
    assert (await post(he, f"/cases/{case_id}/accept")).status_code == 409


async def test_the_list_query_returns_mine_my_stations_and_the_staffs_cases(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he, gao = await client_as(WORKER_HE), await client_as(WORKER_GAO)
    he_case = await open_case(he, world)
    gao_case = await open_case(gao, world)
    xu_case = await demo_case_id(database, world)
    assert (await load_case(database, he_case)).lead_worker_id == world.user_id(WORKER_HE)
    he_page = await he.get("/cases")
    assert he_page.status_code == 200 and f'id="case-{he_case}"' in he_page.text
    assert f'id="case-{gao_case}"' not in he_page.text
    station_page = await he.get("/cases?tab=station")
    assert f'id="case-{he_case}"' in station_page.text and f'id="case-{gao_case}"' in station_page.text
    assert f'id="case-{xu_case}"' not in station_page.text
    staff = await client_as(STAFF)
    staff_page = await staff.get("/cases")
    assert all(f'id="case-{c}"' in staff_page.text for c in (he_case, gao_case, xu_case))
    liuan = await staff.get(f"/cases?station={world.cast.areas['liuan'].id}")
    assert f'id="case-{xu_case}"' in liuan.text and f'id="case-{he_case}"' not in liuan.text
    closed = await staff.get("/cases?status=closed")
    assert closed.status_code == 200 and 'id="case-list-empty"' in closed.text
    odd = await staff.get("/cases?status=nope&station=x&before=99999999999")
    assert odd.status_code == 200


async def test_list_cases_pages_by_keyset_newest_first(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    first = await open_case(he, world)
    second = await open_case(he, world)
    principal = await principal_of(database, world.user_id(WORKER_HE))
    async with database.transaction(read_only=True) as db:
        mine = await list_cases(db, principal, mine=True, status=None, before=None, limit=1)
        assert [c.id for c in mine] == [second]
        rest = await list_cases(
            db, principal, mine=True, status=None, before=(mine[0].opened_at, mine[0].id), limit=10
        )
        assert rest[0].id == first and second not in {c.id for c in rest}
        station = await list_cases(
            db, principal, mine=False, status=CaseStatus.ACCEPTED, before=None, limit=10
        )
        assert {first, second} <= {c.id for c in station}
        none = await list_cases(db, principal, mine=False, status=CaseStatus.CLOSED, before=None, limit=10)
        assert none == []
    staff = await principal_of(database, world.user_id(STAFF))
    async with database.transaction(read_only=True) as db:
        everything = await list_cases(db, staff, mine=False, status=None, before=None, limit=10)
    assert {first, second, await demo_case_id(database, world)} <= {c.id for c in everything}


async def test_the_workers_home_links_to_her_cases_and_the_programme_page_to_packages_and_dimensions(
    client_as: ClientAs, world: World
) -> None:
    he = await client_as(WORKER_HE)
    home = await he.get("/")
    assert 'id="my-cases-link"' in home.text and 'id="new-case-link"' in home.text
    staff = await client_as(STAFF)
    assert 'id="new-case-link"' not in (await staff.get("/")).text
    page = await staff.get(f"/programmes/{world.cast.programmes['station'].id}")
    assert 'id="packages-link"' in page.text and 'id="dimensions-link"' in page.text
