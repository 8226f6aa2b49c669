"""Who reaches a pillar mother's file and who keeps it: the group (cadre, volunteers, the mother), the
agency's workers and the programme's staff, each while the relationship lasts; screening is staff's and
the agency workers' alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.cases.demo import principal_of
from backend.db import Database
from backend.people.models import Membership, Role, User
from backend.people.service import do_add_membership, do_end_membership
from backend.pillar.agency_service import do_add_agency, do_end_worker, do_place_worker
from backend.pillar.group_service import do_end_group_member
from backend.pillar.models import AgencyRole, AgencyWorker, GroupMember, PillarFile
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import file_ids, post
from tests.functional.pillar.test_files import dimensions, screening_fields


async def test_only_staff_and_agency_workers_screen_mothers(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme_id = world.cast.programmes["pillar"].id
    fields = await screening_fields(database, world)
    expected = {
        personas.PILLAR_MOTHER: 403,
        personas.VOLUNTEER: 403,
        personas.CADRE: 403,
        personas.OUTSIDER: 404,
        personas.CARING_MOTHER: 404,
        personas.SOCIAL_WORKER: 404,
    }
    for handle, status in expected.items():
        browser = await client_as(handle)
        assert (await browser.get(f"/pillar/{programme_id}/mothers/new")).status_code == status, handle
        assert (await post(browser, f"/pillar/{programme_id}/mothers", fields)).status_code == status, handle
    zhou = await client_as(personas.PILLAR_STAFF)
    other = world.cast.programmes["station"].id  # not a pillar-mother programme
    assert (await zhou.get(f"/pillar/{other}/mothers/new")).status_code == 404
    assert (await zhou.get(f"/pillar/{world.outsider_programme_id}/mothers/new")).status_code == 404


async def test_a_volunteer_reads_the_file_but_cannot_keep_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    song = await client_as(personas.VOLUNTEER)
    huang = (await file_ids(database, world))["huang"]
    page = await song.get(f"/pillar/mothers/{huang}")
    assert page.status_code == 200 and "黄美兰" in page.text
    assert 'id="pillar-need-form-' not in page.text and 'id="pillar-profile-form"' not in page.text
    assert 'id="pillar-plan-link"' not in page.text and 'id="pillar-my-plan"' not in page.text
    employment = (await dimensions(database, world))["employment"]
    writes = {
        "needs": {"dimension_id": str(employment), "level": "4"},
        "profile": {"qualification": "divorced"},
        "children": {"child_name": "黄三"},
    }
    for path, fields in writes.items():
        assert (await post(song, f"/pillar/mothers/{huang}/{path}", fields)).status_code == 403, path
    mother = await client_as(personas.PILLAR_MOTHER)
    for path, fields in writes.items():
        assert (await post(mother, f"/pillar/mothers/{huang}/{path}", fields)).status_code == 403, path


async def test_a_volunteer_of_one_group_does_not_reach_another_mother(
    client_as: ClientAs, world: World, database: Database
) -> None:
    du = await client_as(personas.HUANG_ONLY_VOLUNTEER)
    ids = await file_ids(database, world)
    assert (await du.get(f"/pillar/mothers/{ids['huang']}")).status_code == 200
    assert (await du.get(f"/pillar/mothers/{ids['yang']}")).status_code == 404
    assert (await du.get(f"/pillar/mothers/{ids['yang']}/history")).status_code == 404
    lin = await client_as(personas.CADRE)  # the cadre keeps both, but a stranger's write is a 404 first
    assert (
        await post(du, f"/pillar/mothers/{ids['yang']}/profile", {"qualification": "other"})
    ).status_code == 404
    assert (await lin.get(f"/pillar/mothers/{ids['yang']}")).status_code == 200


async def test_an_ended_group_place_ends_access(
    client_as: ClientAs, world: World, database: Database
) -> None:
    du = await client_as(personas.HUANG_ONLY_VOLUNTEER)
    huang = (await file_ids(database, world))["huang"]
    assert (await du.get(f"/pillar/mothers/{huang}")).status_code == 200
    async with database.transaction() as db:
        file = await db.get_one(PillarFile, huang)
        member = await db.scalar(
            select(GroupMember).where(
                GroupMember.file_id == huang,
                GroupMember.user_id == world.user_id(personas.HUANG_ONLY_VOLUNTEER),
            )
        )
        assert member is not None
        await do_end_group_member(db, file, member, actor=None)
    assert (await du.get(f"/pillar/mothers/{huang}")).status_code == 404
    listed = await du.get("/pillar/mothers")
    assert listed.status_code == 200 and f'id="pillar-file-{huang}"' not in listed.text


async def test_an_ended_membership_ends_access(client_as: ClientAs, world: World, database: Database) -> None:
    huang = (await file_ids(database, world))["huang"]
    async with database.transaction() as db:
        # She keeps another role elsewhere, so she stays signed in and the pillar part alone ends.
        user = await db.get_one(User, world.user_id(personas.HUANG_ONLY_VOLUNTEER))
        await do_add_membership(
            db,
            user=user,
            programme=world.cast.programmes["mothers"],
            area=world.cast.areas["guiyuan"],
            role=Role.CARING_MOTHER,
            actor=None,
        )
    du = await client_as(personas.HUANG_ONLY_VOLUNTEER)
    assert (await du.get(f"/pillar/mothers/{huang}")).status_code == 200
    async with database.transaction() as db:
        membership = await db.scalar(
            select(Membership).where(
                Membership.user_id == world.user_id(personas.HUANG_ONLY_VOLUNTEER),
                Membership.role == Role.VOLUNTEER,
            )
        )
        assert membership is not None
        await do_end_membership(db, membership, actor=None)
    assert (await du.get(f"/pillar/mothers/{huang}")).status_code == 404
    assert (await du.get("/pillar/mothers")).status_code == 404


async def test_a_worker_placed_with_another_agency_does_not_reach_the_files(
    client_as: ClientAs, world: World, database: Database
) -> None:
    ids = await file_ids(database, world)
    pan_id = world.user_id(personas.AGENCY_COLLEAGUE)
    async with database.transaction() as db:
        zhou = await principal_of(db, world.cast.users[personas.PILLAR_STAFF])
        programme = world.cast.programmes["pillar"]
        rows = await db.scalars(
            select(AgencyWorker)
            .where(AgencyWorker.user_id == pan_id)
            .options(selectinload(AgencyWorker.agency))
        )
        for row in list(rows):
            await do_end_worker(db, row, actor=zhou)
        other = await do_add_agency(
            db, programme, name="城东社工服务社", role=AgencyRole.DELIVERING, actor=zhou
        )
        await do_place_worker(db, other, await db.get_one(User, pan_id), actor=zhou)
    pan = await client_as(personas.AGENCY_COLLEAGUE)
    for key in ("huang", "yang"):
        assert (await pan.get(f"/pillar/mothers/{ids[key]}")).status_code == 404, key
    listed = await pan.get("/pillar/mothers")
    assert listed.status_code == 200 and 'id="pillar-file-' not in listed.text
    new = await pan.get(f"/pillar/{programme.id}/mothers/new")
    assert new.status_code == 200 and "城东社工服务社" in new.text and "青溪阳光社工事务所" not in new.text


async def test_a_worker_cannot_screen_a_mother_into_an_agency_not_hers(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme = world.cast.programmes["pillar"]
    async with database.transaction() as db:
        zhou = await principal_of(db, world.cast.users[personas.PILLAR_STAFF])
        other = await do_add_agency(
            db, programme, name="城东社工服务社", role=AgencyRole.DELIVERING, actor=zhou
        )
        other_id = other.id
    xie = await client_as(personas.AGENCY_WORKER)
    fields = await screening_fields(database, world, agency_id=str(other_id))
    response = await post(xie, f"/pillar/{programme.id}/mothers", fields)
    assert response.status_code == 400 and 'id="agency_id-error"' in response.text


async def _add_user(browser: Any, world: World, role: str, name: str) -> int:
    fields = {
        "display_name": name,
        "programme_id": str(world.cast.programmes["pillar"].id),
        "area_id": str(world.cast.areas["guiyuan"].id),
        "role": role,
        "confirm_new": "yes",
    }
    response = await post(browser, "/users", fields)
    return response.status_code


async def test_an_agency_worker_adds_volunteers_and_mothers_but_not_cadres(
    client_as: ClientAs, world: World, database: Database
) -> None:
    xie = await client_as(personas.AGENCY_WORKER)
    page = await xie.get(f"/users/new?programme_id={world.cast.programmes['pillar'].id}")
    assert (
        page.status_code == 200 and 'value="volunteer"' in page.text and 'value="pillar_mother"' in page.text
    )
    assert 'value="cadre"' not in page.text
    assert await _add_user(xie, world, "volunteer", "新志愿者") == 307  # straight to her sign-in card
    assert await _add_user(xie, world, "pillar_mother", "新母亲") == 307
    assert await _add_user(xie, world, "cadre", "新干部") == 422
    cards = await xie.get("/cards")
    assert cards.status_code == 200 and "宋晓燕" in cards.text and "黄美兰" in cards.text
    assert "林桂芳" not in cards.text  # a cadre's card comes from staff


async def test_staff_add_cadres_in_a_pillar_programme_and_its_roles_stay_there(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    assert await _add_user(zhou, world, "cadre", "新干部") == 307
    cards = await zhou.get("/cards")
    assert "林桂芳" in cards.text
    # A pillar role is never given in a programme of another kind.
    fields = {
        "display_name": "别处志愿者",
        "programme_id": str(world.cast.programmes["station"].id),
        "area_id": str(world.cast.areas["guiyuan"].id),
        "role": "volunteer",
        "confirm_new": "yes",
    }
    assert (await post(zhou, "/users", fields)).status_code == 422


async def test_an_administrator_creates_a_pillar_programme_through_the_pages(
    database: Database, client_as: ClientAs
) -> None:
    from backend.cases.models import CaseDimension
    from tests.functional.people.org_support import admin_browser, create_programme, programme_id

    admin = await admin_browser(database, client_as)
    assert 'value="pillar_mothers"' in (await admin.get("/programmes/new")).text
    created = await create_programme(
        admin,
        name="远山顶梁柱母亲",
        kind="pillar_mothers",
        area_id="new",
        new_area_name="远山区",
        new_area_level="district",
    )
    assert created.status_code == 303, created.text[:2000]
    pillar = await programme_id(database, "远山顶梁柱母亲")
    async with database.transaction(read_only=True) as db:
        codes = set(await db.scalars(select(CaseDimension.code).where(CaseDimension.programme_id == pillar)))
    assert "employment" in codes and len(codes) == 5
    page = await admin.get(f"/pillar/{pillar}/mothers/new")
    assert page.status_code == 200 and 'id="pillar-new-form"' in page.text
