"""Groups overdue for contact: counted from the last contact (or the file's opening) against the
file's interval, in the programme's calendar, scoped by who sees the file; shown on each role's home."""

from __future__ import annotations

import uuid
from datetime import timedelta

from backend import clock
from backend.cases.demo import principal_of
from backend.db import Database
from backend.pillar.contact_queries import overdue_files
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import ZONE, post
from tests.functional.pillar.test_contacts import contact_body, file_ids, put_contact


async def overdue_for(database: Database, world: World, handle: str, days_later: int = 0) -> dict[int, int]:
    today = clock.today_in(ZONE) + timedelta(days=days_later)
    async with database.transaction(read_only=True) as db:
        user = await principal_of(db, world.cast.users[handle])
        return {f.file_id: f.days_since for f in await overdue_files(db, user, today)}


async def test_yangs_group_is_overdue_and_huangs_is_not_until_its_interval_passes(
    world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    for handle in (personas.CADRE, personas.AGENCY_WORKER, personas.PILLAR_STAFF):
        assert await overdue_for(database, world, handle) == {files["yang"]: 20}, handle
    # A volunteer of Huang's group only sees no overdue group: Yang's file is not hers to see.
    assert await overdue_for(database, world, personas.HUANG_ONLY_VOLUNTEER) == {}
    assert await overdue_for(database, world, personas.OUTSIDER) == {}
    # Eleven days on, Huang's last contact (3 days ago) is 14 days old: not yet over; twelve days on, it is.
    assert files["huang"] not in await overdue_for(database, world, personas.CADRE, days_later=11)
    later = await overdue_for(database, world, personas.CADRE, days_later=12)
    assert later == {files["huang"]: 15, files["yang"]: 32}


async def test_a_new_contact_or_a_longer_interval_clears_the_overdue_group(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    lin = await client_as(personas.CADRE)
    home = await lin.get("/")
    assert f'id="pillar-overdue-{files["yang"]}"' in home.text
    assert f'id="pillar-overdue-{files["huang"]}"' not in home.text
    longer = await post(lin, f"/pillar/mothers/{files['yang']}/interval", {"contact_interval_days": "30"})
    assert longer.status_code == 303
    assert await overdue_for(database, world, personas.CADRE) == {}
    await post(lin, f"/pillar/mothers/{files['yang']}/interval", {"contact_interval_days": "14"})
    assert files["yang"] in await overdue_for(database, world, personas.CADRE)
    fang = await client_as(personas.YANG_ONLY_VOLUNTEER)
    sent = await put_contact(
        fang, uuid.uuid4(), contact_body(files["yang"], contacted_on=clock.today_in(ZONE).isoformat())
    )
    assert sent.status_code == 201
    assert await overdue_for(database, world, personas.CADRE) == {}
    home = await lin.get("/")
    assert 'id="pillar-overdue-none"' in home.text


async def test_each_role_sees_its_own_pillar_part_of_the_home_page(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    huang, yang = files["huang"], files["yang"]
    for handle in (personas.CADRE, personas.AGENCY_WORKER):
        page = (await (await client_as(handle)).get("/")).text
        assert 'id="pillar-home"' in page and 'id="pillar-my-groups"' in page, handle
        assert f'id="pillar-overdue-{yang}"' in page and "杨春燕" in page and "黄美兰" in page
    du = (await (await client_as(personas.HUANG_ONLY_VOLUNTEER)).get("/")).text
    assert 'id="pillar-volunteer-mothers"' in du and f"/pillar/mothers/{huang}/contacts/new" in du
    assert "杨春燕" not in du and 'id="pillar-overdue' not in du
    song = (await (await client_as(personas.VOLUNTEER)).get("/")).text
    assert f'id="pillar-mother-{huang}"' in song and f'id="pillar-mother-{yang}"' in song
    mother = (await (await client_as(personas.PILLAR_MOTHER)).get("/")).text
    assert f'href="/pillar/mothers/{huang}"' in mother and 'href="/pillar/survey"' in mother
    assert "我的帮扶计划" in mother and "杨春燕" not in mother and 'id="pillar-overdue' not in mother
    for handle in (personas.SOCIAL_WORKER, personas.CARING_MOTHER, personas.OUTSIDER):
        assert 'id="pillar-home"' not in (await (await client_as(handle)).get("/")).text, handle
