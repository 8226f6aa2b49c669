"""The "1 + 3 + 1" group of a mother's file: who may change it, the places' limits and roles, the
mother's place, the contact interval, and a helped mother who later volunteers in another group."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select, update

from backend.db import Database
from backend.people.models import Role
from backend.people.service import do_add_membership
from backend.pillar.models import GroupMember, GroupRole, PillarFile
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.photos_support import audit_actions
from tests.functional.pillar.pillar_support import post
from tests.functional.pillar.test_contacts import contact_body, file_ids, put_contact

CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def active_members(database: Database, file_id: int) -> dict[int, GroupRole]:
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(GroupMember.user_id, GroupMember.role).where(
                GroupMember.file_id == file_id, GroupMember.ended_at.is_(None)
            )
        )
        return {user_id: role for user_id, role in rows.all()}


async def member_id(database: Database, file_id: int, user_id: int) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(GroupMember.id).where(
                GroupMember.file_id == file_id, GroupMember.user_id == user_id, GroupMember.ended_at.is_(None)
            )
        )
    assert found is not None
    return found


async def test_only_staff_agency_workers_and_the_cadre_change_a_group(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    yang = files["yang"]
    fang = world.user_id(personas.YANG_ONLY_VOLUNTEER)
    for handle, expected in (
        (personas.VOLUNTEER, 403),
        (personas.OTHER_PILLAR_MOTHER, 403),
        (personas.HUANG_ONLY_VOLUNTEER, 404),
        (personas.PILLAR_MOTHER, 404),
        (personas.OUTSIDER, 404),
    ):
        browser = await client_as(handle)
        add = await post(browser, f"/pillar/mothers/{yang}/members", {"user_id": fang, "place": "volunteer"})
        interval = await post(browser, f"/pillar/mothers/{yang}/interval", {"contact_interval_days": "7"})
        end = await post(
            browser, f"/pillar/mothers/{yang}/members/{await member_id(database, yang, fang)}/end"
        )
        assert (add.status_code, interval.status_code, end.status_code) == (expected,) * 3, handle
    assert fang in await active_members(database, yang)
    for handle in (personas.PILLAR_STAFF, personas.AGENCY_WORKER, personas.CADRE):
        browser = await client_as(handle)
        saved = await post(browser, f"/pillar/mothers/{yang}/interval", {"contact_interval_days": "10"})
        assert saved.status_code == 303 and "#pillar-group" in saved.headers["location"], handle
    assert (
        len([e for e in await audit_actions(database, "pillar.interval_set") if e.subject_id == str(yang)])
        == 1
    )


async def test_the_fourth_volunteer_and_a_user_without_the_role_are_refused(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    huang = files["huang"]
    lin = await client_as(personas.CADRE)
    before = await active_members(database, huang)
    fourth = await post(
        lin,
        f"/pillar/mothers/{huang}/members",
        {"user_id": world.user_id(personas.YANG_ONLY_VOLUNTEER), "place": "volunteer"},
    )
    assert fourth.status_code == 409 and CHINESE.search(fourth.text)
    assert 'id="pillar-member-add"' in fourth.text
    no_role = await post(
        lin,
        f"/pillar/mothers/{huang}/members",
        {"user_id": world.user_id(personas.SOCIAL_WORKER), "place": "cadre"},
    )
    assert no_role.status_code == 400 and CHINESE.search(no_role.text)
    for fields in ({"user_id": "abc", "place": "volunteer"}, {"user_id": "1", "place": "boss"}, {}):
        bad = await post(lin, f"/pillar/mothers/{huang}/members", fields)
        assert bad.status_code == 400 and 'class="field-error"' in bad.text, fields
    for days in ("0", "181", "abc", ""):
        bad = await post(lin, f"/pillar/mothers/{huang}/interval", {"contact_interval_days": days})
        assert bad.status_code == 400 and 'id="pillar-interval"' in bad.text and CHINESE.search(bad.text)
    assert await active_members(database, huang) == before
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(PillarFile, huang)).contact_interval_days == 14


async def test_the_mother_place_links_the_file_to_her_account(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    huang = files["huang"]
    mother = world.user_id(personas.PILLAR_MOTHER)
    xie = await client_as(personas.AGENCY_WORKER)
    ended = await post(xie, f"/pillar/mothers/{huang}/members/{await member_id(database, huang, mother)}/end")
    assert ended.status_code == 303
    async with database.transaction() as db:  # as if her account had never been linked
        await db.execute(update(PillarFile).where(PillarFile.id == huang).values(mother_user_id=None))
    # Another file's mother cannot take this place.
    other = await post(
        xie,
        f"/pillar/mothers/{huang}/members",
        {"user_id": world.user_id(personas.OTHER_PILLAR_MOTHER), "place": "mother"},
    )
    assert other.status_code == 409 and CHINESE.search(other.text)
    added = await post(xie, f"/pillar/mothers/{huang}/members", {"user_id": mother, "place": "mother"})
    assert added.status_code == 303, added.text
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(PillarFile, huang)).mother_user_id == mother
    assert (await active_members(database, huang))[mother] is GroupRole.MOTHER
    events = [e for e in await audit_actions(database, "pillar.member_added") if e.subject_id == str(huang)]
    assert any(e.change.get("place") == "mother" for e in events)


async def test_a_helped_mother_later_volunteers_in_another_mothers_group(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    huang_user = world.user_id(personas.PILLAR_MOTHER)
    lin = await client_as(personas.CADRE)
    # Not a volunteer yet: the place needs the role first.
    early = await post(
        lin, f"/pillar/mothers/{files['yang']}/members", {"user_id": huang_user, "place": "volunteer"}
    )
    assert early.status_code == 400
    async with database.transaction() as db:
        await do_add_membership(
            db,
            user=world.cast.users[personas.PILLAR_MOTHER],
            programme=world.cast.programmes["pillar"],
            area=world.cast.areas["guiyuan"],
            role=Role.VOLUNTEER,
            actor=None,
        )
    fang = world.user_id(personas.YANG_ONLY_VOLUNTEER)
    freed = await post(
        lin, f"/pillar/mothers/{files['yang']}/members/{await member_id(database, files['yang'], fang)}/end"
    )
    assert freed.status_code == 303
    joined = await post(
        lin, f"/pillar/mothers/{files['yang']}/members", {"user_id": huang_user, "place": "volunteer"}
    )
    assert joined.status_code == 303, joined.text
    assert (await active_members(database, files["yang"]))[huang_user] is GroupRole.VOLUNTEER
    assert (await active_members(database, files["huang"]))[huang_user] is GroupRole.MOTHER
    huang = await client_as(personas.PILLAR_MOTHER)
    assert (await huang.get(f"/pillar/mothers/{files['yang']}/contacts/new")).status_code == 200
    sent = await put_contact(huang, uuid.uuid4(), contact_body(files["yang"], note="以过来人的身份聊了聊。"))
    assert sent.status_code == 201, sent.text
    # Ended places stay as history; 方琳 no longer reaches 杨春燕's file.
    fang_browser = await client_as(personas.YANG_ONLY_VOLUNTEER)
    assert (await fang_browser.get(f"/pillar/mothers/{files['yang']}/contacts/new")).status_code == 404


async def test_the_file_page_shows_the_group_and_contacts_with_each_users_own_forms(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    yang = files["yang"]
    seen = {}
    for handle in (
        personas.CADRE,
        personas.PILLAR_STAFF,
        personas.AGENCY_WORKER,
        personas.VOLUNTEER,
        personas.OTHER_PILLAR_MOTHER,
    ):
        page = await (await client_as(handle)).get(f"/pillar/mothers/{yang}")
        assert page.status_code == 200, handle
        assert 'id="pillar-group"' in page.text and "方琳" in page.text and "林桂芳" in page.text
        assert "电话聊了女儿上学的事。" in page.text and 'id="pillar-group-overdue"' in page.text
        seen[handle] = ('id="pillar-member-add"' in page.text, 'id="pillar-contact-new-link"' in page.text)
    assert seen == {
        personas.CADRE: (True, True),
        personas.PILLAR_STAFF: (True, False),
        personas.AGENCY_WORKER: (True, True),
        personas.VOLUNTEER: (False, True),
        personas.OTHER_PILLAR_MOTHER: (False, True),
    }
    lin = await client_as(personas.CADRE)
    fang = world.user_id(personas.YANG_ONLY_VOLUNTEER)
    await post(lin, f"/pillar/mothers/{yang}/members/{await member_id(database, yang, fang)}/end")
    page = (await lin.get(f"/pillar/mothers/{yang}")).text
    assert 'id="pillar-group-ended"' in page and "方琳" in page
    # Her contact stays in the list, under her name.
    assert "电话聊了女儿上学的事。" in page
