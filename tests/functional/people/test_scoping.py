"""Who sees whom: the "for user" loaders, on the home page and on person pages.

The matrix below is the documented rule of issue 2: a social worker sees the people of her areas,
a caring mother the children paired with her (and their guardians), a neighbour the residents of her
meal agreements, staff their programmes; everything else is a 404.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from backend.auth.principal import Principal
from backend.auth.service import do_redeem_code, load_principal
from backend.db import Database
from backend.errors import NotFound
from backend.people.models import Person
from backend.people.policy import get_person_for, list_people_for
from backend.visits.models import Pairing, PairingStatus
from tests import personas
from tests.conftest import SECRET, ClientAs, World, issue_code

PEOPLE = [
    "xiaoyu",
    "xiaoyu_guardian",
    "duoduo",
    "duoduo_guardian",
    "lele",
    "lele_guardian",
    "xiaoqi",
    "xiaoqi_guardian",
    "qian",
    "zheng",
    "feng",
    # The station programme's households (Wutong: tang, luo; Liu'an: xu, whose station chen works in).
    "tang",
    "luo",
    "xu",
    "outsider_resident",
]
WUTONG = {
    "xiaoyu",
    "xiaoyu_guardian",
    "duoduo",
    "duoduo_guardian",
    "xiaoqi",
    "xiaoqi_guardian",
    "qian",
    "zheng",
}
VISIBLE: dict[str, set[str]] = {
    personas.STAFF: set(PEOPLE) - {"outsider_resident"},
    personas.SOCIAL_WORKER: WUTONG,
    personas.OTHER_STREET_WORKER: {"lele", "lele_guardian", "feng", "xu"},
    personas.CARING_MOTHER: {"xiaoyu", "xiaoyu_guardian"},
    personas.OTHER_MOTHER: {"duoduo", "duoduo_guardian"},
    personas.NEIGHBOUR: {"qian"},
    personas.OTHER_NEIGHBOUR: {"zheng"},
    personas.OUTSIDER: {"outsider_resident"},
}


def _person_id(world: World, key: str) -> int:
    return world.outsider_resident_id if key == "outsider_resident" else world.person_id(key)


async def _principal(database: Database, world: World, handle: str) -> Principal:
    code = await issue_code(database, handle)
    async with database.transaction() as db:
        started = await do_redeem_code(db, code, secret_key=SECRET, session_lifetime=timedelta(hours=1))
    async with database.transaction(read_only=True) as db:
        principal = await load_principal(db, started.token, secret_key=SECRET)
    assert principal is not None
    return principal


@pytest.mark.parametrize("handle", list(VISIBLE))
async def test_loader_shows_each_persona_exactly_their_people(
    database: Database, world: World, handle: str
) -> None:
    principal = await _principal(database, world, handle)
    async with database.transaction(read_only=True) as db:
        listed = {p.id for p in await list_people_for(db, principal)}
        for key in PEOPLE:
            pid = _person_id(world, key)
            if key in VISIBLE[handle]:
                assert (await get_person_for(db, principal, pid)).id == pid
            else:
                with pytest.raises(NotFound):
                    await get_person_for(db, principal, pid)
    expected = {_person_id(world, k) for k in VISIBLE[handle]}
    if handle == personas.STAFF:  # staff of the pillar programme too: its mothers and their children
        async with database.transaction(read_only=True) as db:
            expected |= set(
                await db.scalars(
                    select(Person.id).where(Person.programme_id == world.cast.programmes["pillar"].id)
                )
            )
    assert listed == expected


@pytest.mark.parametrize(
    ("handle", "visible", "hidden"),
    [
        (personas.SOCIAL_WORKER, "qian", "lele"),
        (personas.CARING_MOTHER, "xiaoyu", "duoduo"),
        (personas.NEIGHBOUR, "qian", "zheng"),
        (personas.STAFF, "feng", "outsider_resident"),
        (personas.OUTSIDER, "outsider_resident", "qian"),
    ],
)
async def test_person_page_is_404_for_what_a_persona_may_not_see(
    client_as: ClientAs, world: World, handle: str, visible: str, hidden: str
) -> None:
    browser = await client_as(handle)
    ok = await browser.get(f"/people/{_person_id(world, visible)}")
    assert ok.status_code == 200
    refused = await browser.get(f"/people/{_person_id(world, hidden)}")
    assert refused.status_code == 404
    assert "此页面不存在，或者您无权查看。" in refused.text
    # a person who does not exist at all looks exactly the same
    missing = await browser.get("/people/999999")
    assert missing.status_code == 404


async def test_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/", f"/people/{world.person_id('qian')}"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"


async def test_social_worker_home_lists_her_people_and_not_the_other_streets(
    client_as: ClientAs, world: World
) -> None:
    page = (await client_as(personas.SOCIAL_WORKER)).get("/")
    text = (await page).text
    assert "我的服务对象" in text
    for name in ("陈小宇", "林朵朵", "马小琪", "钱老伯", "郑奶奶"):
        assert name in text
    for name in ("黄乐乐", "冯爷爷", "远山居民"):
        assert name not in text


async def test_staff_home_shows_programmes_with_their_area_tree(client_as: ClientAs, world: World) -> None:
    text = (await (await client_as(personas.STAFF)).get("/")).text
    assert "青溪区“钟妈妈”结对关爱" in text and "青溪区睦邻助餐计划" in text
    for area in ("青溪区", "梧桐街道", "柳岸街道", "桂园社区", "松风社区", "荷塘社区"):
        assert area in text
    assert "远山区" not in text
    assert "服务对象：8 人" in text  # 4 children and 4 guardians in the caring-mother programme


async def test_caring_mother_home_lists_only_her_paired_child(client_as: ClientAs, world: World) -> None:
    text = (await (await client_as(personas.CARING_MOTHER)).get("/")).text
    assert "与我结对的孩子" in text and "陈小宇" in text
    assert "林朵朵" not in text and "马小琪" not in text


async def test_neighbour_home_lists_her_resident_and_the_meal_rate(client_as: ClientAs, world: World) -> None:
    text = (await (await client_as(personas.NEIGHBOUR)).get("/")).text
    assert "我送餐的居民" in text and "钱老伯" in text and "每餐 15.00 元" in text
    assert "郑奶奶" not in text


async def test_mother_loses_sight_of_a_child_when_the_pairing_ends(
    client_as: ClientAs, world: World, database: Database
) -> None:
    browser = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    assert (await browser.get(f"/people/{child}")).status_code == 200
    async with database.transaction() as db:
        await db.execute(update(Pairing).where(Pairing.child_id == child).values(status=PairingStatus.ENDED))
        assert await db.scalar(select(Pairing.status).where(Pairing.child_id == child)) is PairingStatus.ENDED
    assert (await browser.get(f"/people/{child}")).status_code == 404
