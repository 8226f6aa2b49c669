"""The public request page of a station: no account, one row per form, rate-limited, purged later."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backend import clock
from backend.audit import AuditEvent
from backend.auth import ratelimit
from backend.auth.models import RateBucket
from backend.cases.models import CaseOrder, OrderSource, OrderStatus
from backend.cases.order_purge import purge_closed_public_requests
from backend.cases.public_routes import REQUEST_ALL_CLIENTS, REQUEST_PER_CLIENT
from backend.cases.stations import station_token
from backend.db import Database
from backend.settings import Settings
from tests.conftest import SECRET, NewBrowser, World, csrf_token


def poster_path(world: World, station: str = "wutong") -> str:
    programme = world.cast.programmes["station"]
    return f"/request/{station_token(SECRET, programme.id, world.cast.areas[station].id)}"


def request_fields(world: World, **overrides: Any) -> dict[str, str]:
    fields = {
        "area_id": str(world.cast.areas["songfeng"].id),
        "category": "elderly",
        "description": "楼上的老人摔了一跤，一个人住，没人照顾。",
        "contact": "电话 138 0000 0000",
        "client_uuid": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return fields


async def send(browser: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    return await browser.post(path, data={**fields, "_csrf_token": await csrf_token(browser)})


async def order_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).select_from(CaseOrder)) or 0)


async def test_a_resident_asks_for_help_once_however_often_the_form_is_sent(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    path = poster_path(world)
    page = await browser.get(path)
    assert page.status_code == 200 and 'id="public-request-form"' in page.text
    # The form offers the station's own communities only.
    assert world.cast.areas["guiyuan"].name in page.text and world.cast.areas["hetang"].name not in page.text
    # Nothing of the orders already in the station's queue is on the public page.
    assert "老伴住院" not in page.text and "139 0000 1234" not in page.text and "唐阿姨" not in page.text
    before = await order_count(database)
    fields = request_fields(world)
    first = await send(browser, path, fields)
    assert first.status_code == 303 and first.headers["location"] == f"{path}/thanks"
    again = await asyncio.gather(*(send(browser, path, fields) for _ in range(3)))
    assert [r.status_code for r in again] == [303, 303, 303]
    assert await order_count(database) == before + 1
    async with database.transaction(read_only=True) as db:
        order = await db.scalar(
            select(CaseOrder).where(CaseOrder.client_uuid == uuid.UUID(fields["client_uuid"]))
        )
        assert order is not None
        events = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "order.created"))).all()
    assert order.source is OrderSource.RESIDENT and order.reported_by_id is None
    assert order.station_area_id == world.cast.areas["wutong"].id and order.status is OrderStatus.OPEN
    created = [e for e in events if e.subject_id == str(order.id)]
    assert len(created) == 1 and created[0].actor_id is None
    assert fields["description"] not in str(created[0].change)  # no free text in the audit chain

    thanks = await browser.get(f"{path}/thanks")
    assert thanks.status_code == 200 and 'id="request-sent"' in thanks.text
    # The thank-you page shows nothing of this or any other order.
    assert fields["description"] not in thanks.text and "139 0000 1234" not in thanks.text


async def test_the_same_form_with_other_words_is_a_conflict_and_the_first_stays(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    path = poster_path(world)
    fields = request_fields(world)
    assert (await send(browser, path, fields)).status_code == 303
    changed = await send(browser, path, {**fields, "description": "另一件事"})
    assert changed.status_code == 409 and 'id="form-error"' in changed.text
    async with database.transaction(read_only=True) as db:
        order = await db.scalar(
            select(CaseOrder).where(CaseOrder.client_uuid == uuid.UUID(fields["client_uuid"]))
        )
    assert order is not None and order.description == fields["description"]


async def test_bad_input_is_refused_in_chinese_beside_its_field_and_nothing_is_stored(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    path = poster_path(world)
    before = await order_count(database)
    cases = [
        ({"description": ""}, "description-error", "请简要描述"),
        ({"description": "字" * 5000}, "description-error", "500"),
        ({"contact": "1" * 5000}, "contact-error", "100"),
        ({"category": "money"}, "category-error", "请选择"),
        # A community of another station (Liu'an's Hetang): not on this station's poster.
        ({"area_id": str(world.cast.areas["hetang"].id)}, "area_id-error", "请从列表"),
        ({"area_id": "abc"}, "area_id-error", "请从列表"),
        ({"client_uuid": "not-a-uuid"}, "form-error", "刷新"),
    ]
    for overrides, error_id, words in cases:
        response = await send(browser, path, request_fields(world, **overrides))
        assert response.status_code == 400, (overrides, response.status_code)
        assert f'id="{error_id}"' in response.text, overrides
        assert words in response.text, (overrides, words)
    assert await order_count(database) == before


async def test_an_unknown_or_forged_token_is_a_404_and_reveals_no_station(
    new_browser: NewBrowser, world: World
) -> None:
    browser = new_browser()
    real = poster_path(world)
    for token in ("nope", real.rsplit("/", 1)[1][:-1] + "A", "x" * 200, station_token("other-secret", 1, 1)):
        response = await browser.get(f"/request/{token}")
        assert response.status_code == 404, token
        assert world.cast.areas["wutong"].name not in response.text


async def _fill(database: Database, limit: ratelimit.Limit, key: str) -> None:
    async with database.transaction() as db:
        start = ratelimit._window_start(limit, clock.utcnow())
        db.add(RateBucket(key=key, window_start=start, count=limit.max_failures))


async def test_past_the_limit_per_address_a_request_gets_a_429_in_chinese_and_nothing_is_stored(
    new_browser: NewBrowser, world: World, database: Database, settings: Settings
) -> None:
    browser = new_browser()
    path = poster_path(world)
    assert (await browser.get(path)).status_code == 200
    scope: Any = {"type": "http", "client": ("127.0.0.1", 123), "headers": []}
    await _fill(database, REQUEST_PER_CLIENT, ratelimit.client_bucket(REQUEST_PER_CLIENT, scope, settings))
    before = await order_count(database)
    response = await send(browser, path, request_fields(world))
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "请" in response.text and "没有保存" in response.text
    assert await order_count(database) == before


async def test_past_the_limit_for_all_addresses_a_request_gets_a_429_and_nothing_is_stored(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    path = poster_path(world)
    assert (await browser.get(path)).status_code == 200
    await _fill(database, REQUEST_ALL_CLIENTS, ratelimit.bucket_key(REQUEST_ALL_CLIENTS))
    before = await order_count(database)
    response = await send(browser, path, request_fields(world))
    assert response.status_code == 429
    assert await order_count(database) == before


async def test_every_public_request_is_counted_before_anything_is_stored(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    path = poster_path(world)
    await send(browser, path, request_fields(world, description=""))
    await send(browser, path, request_fields(world))
    async with database.transaction(read_only=True) as db:
        total = await db.scalar(
            select(RateBucket.count).where(RateBucket.key == ratelimit.bucket_key(REQUEST_ALL_CLIENTS))
        )
    assert total == 2


async def test_closed_public_requests_lose_their_words_after_ninety_days_and_nothing_else_does(
    world: World, database: Database
) -> None:
    now = clock.utcnow()
    programme = world.cast.programmes["station"]
    wutong = world.cast.areas["wutong"]

    def order(**fields: Any) -> CaseOrder:
        return CaseOrder(
            programme_id=programme.id,
            station_area_id=wutong.id,
            category="elderly",
            description="原话",
            contact="电话",
            **fields,
        )

    async with database.transaction() as db:
        old = order(
            source=OrderSource.RESIDENT,
            status=OrderStatus.CLOSED,
            closed_at=now - timedelta(days=91),
            close_note="重复",
        )
        recent = order(
            source=OrderSource.RESIDENT, status=OrderStatus.CLOSED, closed_at=now - timedelta(days=89)
        )
        scouts = order(
            source=OrderSource.SCOUT,
            status=OrderStatus.CLOSED,
            closed_at=now - timedelta(days=200),
            reported_by_id=world.user_id("demo-scout-ma"),
        )
        still_open = order(source=OrderSource.RESIDENT, created_at=now - timedelta(days=400))
        db.add_all([old, recent, scouts, still_open])
    async with database.transaction() as db:
        assert await purge_closed_public_requests(db, now=now) == 1
    async with database.transaction() as db:
        assert await purge_closed_public_requests(db, now=now) == 0  # done once
    async with database.transaction(read_only=True) as db:
        rows = {o.id: o for o in await db.scalars(select(CaseOrder))}
        purged = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "order.purged"))).all()
    assert (rows[old.id].description, rows[old.id].contact, rows[old.id].close_note) == ("", "", None)
    for kept in (recent, scouts, still_open):
        assert rows[kept.id].description == "原话" and rows[kept.id].contact == "电话"
    assert [e.subject_id for e in purged] == [str(old.id)]
