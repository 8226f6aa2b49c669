"""Hardship scouts: added by a station's worker, report a need with a photo from the phone, and see the
status of their own reports only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.cases.models import CaseOrder, OrderSource, OrderStatus
from backend.db import Database
from backend.evidence.models import Photo
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.people.org_support import add_user_and_card, sign_in_with

HE, CHEN, SCOUT = "demo-sw-he", "demo-sw-chen", "demo-scout-ma"


async def report(
    browser: httpx.AsyncClient, world: World, *, photo: bytes | None = None, **overrides: Any
) -> httpx.Response:
    fields = {
        "_csrf_token": await csrf_token(browser),
        "area_id": str(world.cast.areas["guiyuan"].id),
        "category": "disability",
        "description": "三号楼的小伙子坐轮椅，楼道台阶下不去。",
        "contact": "楼长 刘阿姨",
        "client_uuid": str(uuid.uuid4()),
        **{k: str(v) for k, v in overrides.items()},
    }
    files = [("photo", ("p.jpg", photo, "image/jpeg"))] if photo is not None else None
    return await browser.post("/scout/report", data=fields, files=files)


async def counts(database: Database) -> tuple[int, int]:
    async with database.transaction(read_only=True) as db:
        orders = await db.scalar(select(func.count()).select_from(CaseOrder))
        photos = await db.scalar(select(func.count()).select_from(Photo))
    return int(orders or 0), int(photos or 0)


async def test_a_scout_reports_a_need_with_a_photo_once_and_the_station_sees_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    scout = await client_as(SCOUT)
    home = await scout.get("/")
    assert 'id="scout-report-link"' in home.text
    form = await scout.get("/scout/report")
    assert form.status_code == 200 and 'id="scout-report-form"' in form.text
    assert world.cast.areas["hetang"].name not in form.text  # Liu'an's community is not hers
    before = await counts(database)
    client_uuid = str(uuid.uuid4())
    photo = phone_photo((640, 480), seed=7)
    sent = await report(scout, world, photo=photo, client_uuid=client_uuid)
    assert sent.status_code == 303 and sent.headers["location"] == "/scout?sent=1"
    again = await report(scout, world, photo=photo, client_uuid=client_uuid)
    assert again.status_code == 303
    assert await counts(database) == (before[0] + 1, before[1] + 1)
    async with database.transaction(read_only=True) as db:
        order = await db.scalar(select(CaseOrder).where(CaseOrder.client_uuid == uuid.UUID(client_uuid)))
        assert order is not None and order.photo_id is not None
        photo_row = await db.get_one(Photo, order.photo_id)
    assert order.source is OrderSource.SCOUT and order.reported_by_id == world.user_id(SCOUT)
    assert order.station_area_id == world.cast.areas["wutong"].id
    assert photo_row.subject_person_id is None
    # The station's worker reads it and sees its photo; Liu'an's worker and other people do not.
    he = await client_as(HE)
    page = await he.get(f"/orders/{order.id}")
    assert page.status_code == 200 and "坐轮椅" in page.text
    assert (await he.get(f"/photos/{order.photo_id}/thumb")).status_code == 200
    for handle in (CHEN, personas.SOCIAL_WORKER, personas.CARING_MOTHER):
        assert (await (await client_as(handle)).get(f"/photos/{order.photo_id}/thumb")).status_code == 404
    # The scout keeps seeing her own photo (she took it) but not the order's page.
    assert (await scout.get(f"/orders/{order.id}")).status_code == 404


async def test_a_scout_sees_only_her_own_reports_and_only_their_status(
    client_as: ClientAs, world: World, database: Database
) -> None:
    scout = await client_as(SCOUT)
    assert (await report(scout, world, description="我自己的报告")).status_code == 303
    async with database.transaction(read_only=True) as db:
        mine = await db.scalar(select(CaseOrder).where(CaseOrder.description == "我自己的报告"))
        demo_scout = await db.scalar(
            select(CaseOrder).where(
                CaseOrder.source == OrderSource.SCOUT, CaseOrder.description != "我自己的报告"
            )
        )
    assert mine is not None and demo_scout is not None
    # A worker closes her report with a note: the scout sees "handled", not the note or who closed it.
    he = await client_as(HE)
    closed = await he.post(
        f"/orders/{mine.id}/close",
        data={"note": "已转交残联处理", "_csrf_token": await csrf_token(he)},
    )
    assert closed.status_code == 303
    page = await scout.get("/scout")
    assert page.status_code == 200
    assert f'id="report-{mine.id}"' in page.text and f'id="report-{demo_scout.id}"' in page.text
    assert "已转交残联处理" not in page.text and "何芸" not in page.text
    # Nothing of anyone else's order: the resident's words and contact are not on her page.
    assert "老伴住院" not in page.text and "139 0000 1234" not in page.text
    assert "荷塘小学" not in page.text
    for order_id in (mine.id, demo_scout.id):
        assert (await scout.get(f"/orders/{order_id}")).status_code == 404
    assert (await scout.get("/orders")).status_code == 403


async def test_another_scout_sees_none_of_the_first_ones_reports(
    client_as: ClientAs, world: World, database: Database, new_browser: NewBrowser
) -> None:
    he = await client_as(HE)
    # A station worker adds a scout through the users pages, as for any field role.
    new_form = await he.get("/users/new")
    assert new_form.status_code == 200 and "hardship_scout" in new_form.text
    code = await add_user_and_card(
        he,
        display_name="孙排困",
        programme_id=world.cast.programmes["station"].id,
        area_id=world.cast.areas["songfeng"].id,
        role="hardship_scout",
    )
    other = new_browser()
    await sign_in_with(other, code)
    page = await other.get("/scout")
    assert page.status_code == 200 and 'id="scout-reports"' not in page.text
    async with database.transaction(read_only=True) as db:
        demo_scout = await db.scalar(select(CaseOrder).where(CaseOrder.source == OrderSource.SCOUT))
    assert demo_scout is not None
    assert (await other.get(f"/orders/{demo_scout.id}")).status_code == 404
    sent = await report(other, world, area_id=world.cast.areas["songfeng"].id, description="孙的报告")
    assert sent.status_code == 303
    assert "孙的报告" not in (await (await client_as(SCOUT)).get("/scout")).text


async def test_bad_reports_are_refused_beside_their_field_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    scout = await client_as(SCOUT)
    before = await counts(database)
    for overrides, field in (
        ({"description": ""}, "description"),
        ({"description": "字" * 5000}, "description"),
        ({"category": "<script>"}, "category"),
        ({"area_id": world.cast.areas["hetang"].id}, "area_id"),
        ({"contact": "x" * 5000}, "contact"),
    ):
        response = await report(scout, world, **overrides)
        assert response.status_code == 400, overrides
        assert f'id="{field}-error"' in response.text, overrides
    not_a_photo = await report(scout, world, photo=b"<html><script>alert(1)</script></html>")
    assert 400 <= not_a_photo.status_code < 500 and 'id="photo-error"' in not_a_photo.text
    assert await counts(database) == before
    # Fields the form does not have are ignored: a scout cannot mark her report taken.
    forged = await report(scout, world, status="taken", taken_by_id=world.user_id(HE), source="referrer")
    assert forged.status_code == 303
    async with database.transaction(read_only=True) as db:
        newest = await db.scalar(select(CaseOrder).order_by(CaseOrder.id.desc()).limit(1))
    assert newest is not None and newest.status is OrderStatus.OPEN and newest.source is OrderSource.SCOUT


async def test_the_same_report_form_with_other_words_is_a_conflict_and_the_first_stands(
    client_as: ClientAs, world: World, database: Database
) -> None:
    scout = await client_as(SCOUT)
    client_uuid = str(uuid.uuid4())
    assert (await report(scout, world, client_uuid=client_uuid)).status_code == 303
    before = await counts(database)
    changed = await report(
        scout, world, client_uuid=client_uuid, description="换了内容", photo=phone_photo((320, 240), seed=3)
    )
    assert changed.status_code == 409 and 'id="form-error"' in changed.text
    assert await counts(database) == before
    async with database.transaction(read_only=True) as db:
        order = await db.scalar(select(CaseOrder).where(CaseOrder.client_uuid == uuid.UUID(client_uuid)))
    assert order is not None and order.description != "换了内容"
