"""PUT /api/checkins/{client_uuid}: idempotent, strict about its body, described in the OpenAPI schema."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.db import Database
from backend.meals.models import CheckIn, CheckInStatus
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import (
    agreement_of,
    at,
    checkin_count,
    meal_jpeg,
    put_checkin,
    put_photo,
    shanghai_today,
)


async def _ready(
    client_as: ClientAs, world: World, database: Database, seed: int = 1
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    """The demo neighbour's phone with one photo of 钱老伯's lunch sent, and the check-in body for it."""
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    photo = await put_photo(neighbour, meal_jpeg(seed, at(shanghai_today(), 11, 45)), world.person_id("qian"))
    body = {
        "agreement_id": agreement.id,
        "slot": "lunch",
        "day": shanghai_today().isoformat(),
        "dishes": ["米饭", "红烧肉"],
        "photo_uuids": [str(photo)],
    }
    return neighbour, body


async def test_a_check_in_sent_again_returns_the_original_and_different_content_is_409(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    name = uuid.uuid4()
    created = await put_checkin(neighbour, body, name)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["status"] == "pending" and out["late"] is False and out["dishes"] == ["米饭", "红烧肉"]
    assert out["photo_uuids"] == body["photo_uuids"] and out["url"] == f"/meals/checkins/{out['id']}"
    again = await put_checkin(neighbour, body, name)
    assert again.status_code == 200 and again.json() == out
    changed = await put_checkin(neighbour, {**body, "dishes": ["饺子"]}, name)
    assert changed.status_code == 409
    assert changed.json()["detail"] == "这条打卡已经以不同的内容发送过了。"
    other = await client_as(personas.OTHER_NEIGHBOUR)
    stolen = await put_checkin(other, body, name)
    assert stolen.status_code == 409 and stolen.json()["detail"] == changed.json()["detail"]
    assert str(out["id"]) not in stolen.text
    assert await checkin_count(database) == 1


async def test_the_same_check_in_sent_six_times_at_once_is_stored_once(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    name = uuid.uuid4()
    responses = await asyncio.gather(*[put_checkin(neighbour, body, name) for _ in range(6)])
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await checkin_count(database) == 1
    async with database.transaction(read_only=True) as db:
        events = await db.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "meal_checkin.submitted")
        )
    assert events == 1


async def test_two_phones_racing_for_the_same_meal_store_one_and_the_other_hears_409(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    responses = await asyncio.gather(*[put_checkin(neighbour, body, uuid.uuid4()) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {r.json()["detail"] for r in responses if r.status_code == 409} == {"这一餐已经打过卡了。"}
    assert await checkin_count(database) == 1


async def test_a_neighbour_cannot_check_in_for_a_resident_not_in_her_agreements(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    zheng = await agreement_of(database, world.person_id("zheng"))
    response = await put_checkin(neighbour, {**body, "agreement_id": zheng.id})
    assert response.status_code == 404
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await put_checkin(worker, body)).status_code == 403  # she sees it, but does not cook
    assert await checkin_count(database) == 0


async def test_photos_must_be_the_neighbours_own_and_of_the_resident(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    other = await client_as(personas.OTHER_NEIGHBOUR)
    their_photo = await put_photo(other, meal_jpeg(50), world.person_id("zheng"))
    response = await put_checkin(neighbour, {**body, "photo_uuids": [str(their_photo)]})
    assert response.status_code == 404 and "照片还没有收到" in response.json()["detail"]
    never_sent = await put_checkin(neighbour, {**body, "photo_uuids": [str(uuid.uuid4())]})
    assert never_sent.status_code == 404 and never_sent.json() == response.json()
    unlabelled = await neighbour.put(
        f"/api/photos/{(no_person := uuid.uuid4())}",
        content=meal_jpeg(51),
        headers={"content-type": "image/jpeg", "x-csrftoken": neighbour.cookies["csrftoken"]},
    )
    assert unlabelled.status_code == 201
    wrong = await put_checkin(neighbour, {**body, "photo_uuids": [str(no_person)]})
    assert wrong.status_code == 422 and "不是为这位居民发送的" in wrong.json()["detail"]
    assert await checkin_count(database) == 0


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"status": "approved"}, 400, "不接受字段 status"),
        ({"amount_fen": 99999}, 400, "不接受字段 amount_fen"),
        ({"day": "2026-13-45"}, 400, "day"),
        ({"slot": "breakfast"}, 400, "slot"),
        ({"dishes": []}, 400, "dishes"),
        ({"dishes": ["x" * 41]}, 400, "dishes"),
        ({"photo_uuids": ["not-a-uuid"]}, 400, "photo_uuids"),
        ({"photo_uuids": []}, 400, "photo_uuids"),
        ({"agreement_id": None}, 400, "agreement_id"),
        ({"dishes": ["   "]}, 422, "请至少填写一道菜。"),
    ],
    ids=[
        "status",
        "amount",
        "bad-date",
        "unknown-slot",
        "no-dishes",
        "long-dish",
        "bad-uuid",
        "no-photo",
        "no-agreement",
        "blank-dish",
    ],
)
async def test_an_invalid_body_is_refused_with_a_chinese_message_and_nothing_stored(
    client_as: ClientAs, world: World, database: Database, change: dict[str, Any], status: int, detail: str
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    response = await put_checkin(neighbour, {**body, **change})
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert await checkin_count(database) == 0


async def test_a_body_that_is_not_json_is_a_clear_400(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, _body = await _ready(client_as, world, database)
    response = await neighbour.put(
        f"/api/checkins/{uuid.uuid4()}",
        content=b"agreement_id=1&status=approved",
        headers={"content-type": "application/json", "x-csrftoken": neighbour.cookies["csrftoken"]},
    )
    assert response.status_code == 400
    assert response.json() == {"status": 400, "detail": "无法读取这条打卡：请以 JSON 格式发送。"}


async def test_the_api_refuses_a_future_day_and_a_status_never_comes_from_the_phone(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour, body = await _ready(client_as, world, database)
    future = await put_checkin(neighbour, {**body, "day": (shanghai_today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["detail"] == "还没到这一天，不能提前打卡。"
    created = await put_checkin(neighbour, body)
    async with database.transaction(read_only=True) as db:
        stored = await db.scalar(select(CheckIn).where(CheckIn.id == created.json()["id"]))
    assert stored is not None and stored.status is CheckInStatus.PENDING


async def test_signed_out_phone_gets_401_whatever_it_sends(client: httpx.AsyncClient) -> None:
    await client.get("/signin")  # a CSRF token, as a page would give
    response = await client.put(
        f"/api/checkins/{uuid.uuid4()}",
        content=b"garbage",
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 401 and response.json()["detail"] == "请先登录。"


def test_the_openapi_schema_describes_the_check_in_api(app: Any) -> None:
    schema = app.openapi_schema.to_schema()
    operation = schema["paths"]["/api/checkins/{client_uuid}"]["put"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckInIn"
    }
    assert {"200", "201", "400", "401", "403", "404", "409", "422"} <= set(operation["responses"])
    body = schema["components"]["schemas"]["CheckInIn"]
    assert set(body["required"]) == {"agreement_id", "slot", "day", "dishes", "photo_uuids"}
    assert "status" not in body["properties"] and "amount_fen" not in body["properties"]
    assert body["properties"]["photo_uuids"]["maxItems"] == 3
