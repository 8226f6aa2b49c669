"""Three-party agreements: a social worker makes and ends them, the neighbour confirms, staff watch."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.db import Database
from backend.evidence.models import Photo
from backend.meals.models import Agreement, AgreementStatus, Signatory
from backend.people.models import Area, Person, Programme
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.meals_support import agreement_of, form_checkin, make_checkin, meal_jpeg, shanghai_today


async def _new_resident(database: Database, world: World, community: str = "songfeng") -> int:
    """A resident of the meal programme, in one of the demo's communities, with no agreement yet."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        area = await db.get_one(Area, world.cast.areas[community].id)
        person = await factories.make_person(db, programme, area, name="新居民")
    return person.id


def _fields(resident_id: int, neighbour_id: int, **changes: str) -> dict[str, str]:
    fields = {
        "client_uuid": str(uuid.uuid4()),
        "resident_id": str(resident_id),
        "neighbour_id": str(neighbour_id),
        "starts_on": shanghai_today().isoformat(),
        "ends_on": "",
        "serves_lunch": "on",
        "rate_fen": "1500",
        "monthly_cap_fen": "45000",
        "signatory": "",
    }
    fields.update(changes)
    return fields


async def _create(
    browser: httpx.AsyncClient, fields: dict[str, str], paper: bytes | None = None
) -> httpx.Response:
    files = {"paper_photo": ("paper.jpg", paper, "image/jpeg")} if paper else {"paper_photo": ("", b"", "")}
    return await browser.post(
        "/meals/agreements", data={**fields, "_csrf_token": await csrf_token(browser)}, files=files
    )


async def _agreement_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Agreement.id))) or 0)


async def test_social_worker_makes_an_agreement_and_the_neighbour_confirms_it_on_her_phone(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    resident = await _new_resident(database, world)
    form_page = await worker.get("/meals/agreements/new")
    assert form_page.status_code == 200 and f'name="resident_id" value="{resident}"' in form_page.text
    assert 'id="agreement-form"' in form_page.text and 'name="_csrf_token"' in form_page.text
    assert f'name="starts_on" value="{shanghai_today().isoformat()}"' in form_page.text
    response = await _create(
        worker,
        _fields(resident, world.user_id(personas.NEIGHBOUR), signatory="guardian", serves_dinner="on"),
        paper=meal_jpeg(90),
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/meals/agreements/(\d+)", response.headers["location"])
    assert match is not None
    agreement_id = int(match.group(1))
    page = (await worker.get(response.headers["location"])).text
    assert "监护人已签字" in page and "邻居：尚未确认" in page and "等待确认" in page
    assert re.search(r'src="/photos/\d+/thumb"', page)  # the signed paper's photo

    neighbour = await client_as(personas.NEIGHBOUR)
    home = (await neighbour.get("/")).text
    assert "新居民的助餐协议等待您确认。" in home
    assert f'action="/meals/agreements/{agreement_id}/confirm"' in home
    confirmed = await neighbour.post(
        f"/meals/agreements/{agreement_id}/confirm", data={"_csrf_token": await csrf_token(neighbour)}
    )
    assert confirmed.status_code == 303
    home = (await neighbour.get("/")).text
    assert f"/meals/agreements/{agreement_id}/checkin?slot=lunch" in home
    assert f"/meals/agreements/{agreement_id}/checkin?slot=dinner" in home

    async with database.transaction(read_only=True) as db:
        agreement = await db.get_one(Agreement, agreement_id)
        actions = (
            await db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_id == str(agreement_id))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert agreement.in_force and agreement.resident_signatory is Signatory.GUARDIAN
    assert agreement.social_worker_id == world.user_id(personas.SOCIAL_WORKER)
    assert (agreement.rate_fen, agreement.monthly_cap_fen) == (1500, 45000)
    assert agreement.slots == ["lunch", "dinner"]
    assert {"agreement.created", "agreement.resident_confirmed", "agreement.neighbour_confirmed"} <= set(
        actions
    )


@pytest.mark.parametrize("rate", ["15.5", "-15", "1e9", "十五元", "1,500", "0", "100001", "15.00"])
async def test_an_amount_that_is_not_a_whole_number_of_fen_is_refused_with_a_clear_message(
    client_as: ClientAs, world: World, database: Database, rate: str
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    before = await _agreement_count(database)
    resident = await _new_resident(database, world)
    response = await _create(worker, _fields(resident, world.user_id(personas.NEIGHBOUR), rate_fen=rate))
    assert response.status_code == 400
    assert "请输入整数的“分”" in response.text or "请输入 1 到 100000 分之间的金额。" in response.text
    assert 'aria-describedby="rate-hint rate_fen-error" aria-invalid="true"' in response.text
    assert await _agreement_count(database) == before


@pytest.mark.parametrize(("typed", "fen"), [("1400", 1400), ("１４００", 1400), (" 1200 ", 1200)])
async def test_a_whole_number_of_fen_is_taken_exactly(
    client_as: ClientAs, world: World, database: Database, typed: str, fen: int
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    resident = await _new_resident(database, world)
    response = await _create(
        worker, _fields(resident, world.user_id(personas.NEIGHBOUR), rate_fen=typed, monthly_cap_fen="42000")
    )
    assert response.status_code == 303
    async with database.transaction(read_only=True) as db:
        agreement = await db.scalar(select(Agreement).where(Agreement.resident_id == resident))
    assert agreement is not None and (agreement.rate_fen, agreement.monthly_cap_fen) == (fen, 42000)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate_fen", "1600", "餐费不能高于项目标准（每餐 15.00 元）。"),
        ("monthly_cap_fen", "45100", "每月上限不能高于项目标准（450.00 元）。"),
    ],
)
async def test_an_agreement_above_the_programmes_rate_or_cap_is_refused_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database, field: str, value: str, message: str
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    before = await _agreement_count(database)
    async with database.transaction(read_only=True) as db:
        photos_before = await db.scalar(select(func.count(Photo.id)))
    resident = await _new_resident(database, world)
    fields = _fields(resident, world.user_id(personas.NEIGHBOUR), **{field: value}, signatory="resident")
    response = await _create(worker, fields, paper=meal_jpeg(7))
    assert response.status_code == 422 and message in response.text
    assert await _agreement_count(database) == before
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Photo.id))) == photos_before  # the paper was not kept


async def test_an_agreement_without_a_rate_takes_the_programmes(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    resident = await _new_resident(database, world)
    response = await _create(
        worker, _fields(resident, world.user_id(personas.NEIGHBOUR), rate_fen="", monthly_cap_fen="")
    )
    assert response.status_code == 303
    async with database.transaction(read_only=True) as db:
        agreement = await db.scalar(select(Agreement).where(Agreement.resident_id == resident))
    assert agreement is not None and (agreement.rate_fen, agreement.monthly_cap_fen) == (1500, 45000)


async def test_a_cap_below_one_meal_is_refused(client_as: ClientAs, world: World, database: Database) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    resident = await _new_resident(database, world)
    response = await _create(
        worker, _fields(resident, world.user_id(personas.NEIGHBOUR), monthly_cap_fen="1000")
    )
    assert response.status_code == 400 and "每月上限不能少于一餐的费用。" in response.text


async def test_only_a_social_worker_of_the_residents_area_makes_agreements(
    client_as: ClientAs, world: World, database: Database
) -> None:
    resident = await _new_resident(database, world)
    fields = _fields(resident, world.user_id(personas.NEIGHBOUR))
    other_street = await client_as(personas.OTHER_STREET_WORKER)
    assert (await _create(other_street, fields)).status_code == 404
    for handle in (personas.STAFF, personas.NEIGHBOUR, personas.CARING_MOTHER):
        browser = await client_as(handle)
        assert (await browser.get("/meals/agreements/new")).status_code == 403
        assert (await _create(browser, fields)).status_code == 403
    # A neighbour from outside her areas cannot be chosen either.
    wu = world.user_id("demo-neighbour-wu")
    worker = await client_as(personas.SOCIAL_WORKER)
    response = await _create(worker, _fields(resident, wu))
    assert response.status_code == 400 and "请选择本项目、您所负责片区内的邻居。" in response.text
    assert await _agreement_count(database) == 3


async def test_a_resident_with_a_current_agreement_gets_no_second_one(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    response = await _create(
        worker, _fields(world.person_id("qian"), world.user_id(personas.OTHER_NEIGHBOUR))
    )
    assert response.status_code == 400 and "这位居民不能在这里新建助餐协议。" in response.text
    assert await _agreement_count(database) == 3


async def test_ending_an_agreement_keeps_its_meals_and_stops_new_ones(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    two_days_ago = shanghai_today() - timedelta(days=2)
    checkin = await make_checkin(database, agreement, two_days_ago, seed=91)
    worker = await client_as(personas.SOCIAL_WORKER)
    url = f"/meals/agreements/{agreement.id}/end"
    too_early = await worker.post(
        url,
        data={
            "ends_on": (two_days_ago - timedelta(days=1)).isoformat(),
            "_csrf_token": await csrf_token(worker),
        },
    )
    assert too_early.status_code == 409 and "这一天之后已有打卡记录" in too_early.text
    ended = await worker.post(
        url,
        data={
            "ends_on": (two_days_ago + timedelta(days=1)).isoformat(),
            "_csrf_token": await csrf_token(worker),
        },
    )
    assert ended.status_code == 303
    page = (await worker.get(f"/meals/agreements/{agreement.id}")).text
    assert "已结束" in page and f'id="checkin-{checkin.id}"' in page and 'id="end-form"' not in page

    neighbour = await client_as(personas.NEIGHBOUR)
    assert f"/meals/agreements/{agreement.id}/checkin" not in (await neighbour.get("/")).text
    refused = await form_checkin(neighbour, agreement.id, meal_jpeg(92))
    assert refused.status_code == 422 and "这一天不在协议的有效日期内。" in refused.text
    again = await worker.post(
        url, data={"ends_on": shanghai_today().isoformat(), "_csrf_token": await csrf_token(worker)}
    )
    assert again.status_code == 409
    async with database.transaction(read_only=True) as db:
        stored = await db.get_one(Agreement, agreement.id)
    assert stored.status is AgreementStatus.ENDED and stored.ended_by_id == world.user_id(
        personas.SOCIAL_WORKER
    )
    # The resident is free for a new agreement now, with the history of the old one intact.
    resident = await worker.get("/meals/agreements/new")
    assert f'name="resident_id" value="{agreement.resident_id}"' in resident.text


async def test_each_sees_the_agreements_of_their_own_patch(client_as: ClientAs, world: World) -> None:
    names = {"钱老伯", "郑奶奶", "冯爷爷"}
    seen = {}
    for handle in (
        personas.STAFF,
        personas.SOCIAL_WORKER,
        personas.OTHER_STREET_WORKER,
        personas.NEIGHBOUR,
        personas.OUTSIDER,
    ):
        text = (await (await client_as(handle)).get("/meals/agreements")).text
        seen[handle] = {name for name in names if name in text}
    assert seen == {
        personas.STAFF: names,
        personas.SOCIAL_WORKER: {"钱老伯", "郑奶奶"},
        personas.OTHER_STREET_WORKER: {"冯爷爷"},
        personas.NEIGHBOUR: {"钱老伯"},
        personas.OUTSIDER: set(),
    }
    mother = await client_as(personas.CARING_MOTHER)
    assert (await mother.get("/meals/agreements")).status_code == 403


async def test_recording_the_residents_signature_twice_is_refused(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    agreement = await agreement_of(database, world.person_id("qian"))
    response = await worker.post(
        f"/meals/agreements/{agreement.id}/resident-confirmation",
        data={
            "signatory": "resident",
            "client_uuid": str(uuid.uuid4()),
            "_csrf_token": await csrf_token(worker),
        },
        files={"paper_photo": ("", b"", "")},
    )
    assert response.status_code == 409 and "居民的确认已经登记过了。" in response.text


async def test_a_person_who_is_not_a_resident_cannot_get_a_meal_agreement(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child = world.person_id("xiaoyu")  # visible to her, but a child of the caring-mother programme
    response = await _create(worker, _fields(child, world.user_id(personas.NEIGHBOUR)))
    assert response.status_code == 400 and "这位居民不能在这里新建助餐协议。" in response.text
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Agreement.id)).where(Agreement.resident_id == child)) == 0
        assert (await db.get_one(Person, child)).kind.value == "child"


async def test_a_search_sent_as_get_keeps_the_form_token_out_of_the_address(
    client_as: ClientAs, world: World
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    sent = await worker.get(
        "/meals/agreements/new", params={"_csrf_token": "abc", "resident_q": "钱", "rate_fen": "1400"}
    )
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert (
        "_csrf_token" not in location
        and "rate_fen=1400" in location
        and location.startswith("/meals/agreements/new?")
    )
    page = await worker.get(location)
    assert page.status_code == 200 and 'value="1400"' in page.text
