"""Slow uploads: a body still arriving holds no upload slot; one slower than the minimum rate (after a
grace, shortened here through the app's state) ends with 408; a decode past its budget is refused.
Nothing is stored in any of these cases. Real app, real database (both), real photo store."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import anyio
import httpx
from litestar import Litestar

from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.meals_support import meal_jpeg
from tests.functional.photos_support import api_put, photo_count, stored_keys

GRACE = 1.0


async def trickle(
    data: bytes, *, chunk: int, pause: float, stall_after: int | None = None
) -> AsyncIterator[bytes]:
    for index, start in enumerate(range(0, len(data), chunk)):
        if stall_after is not None and index >= stall_after:
            await asyncio.sleep(60)  # a sender that has gone quiet
        yield data[start : start + chunk]
        await asyncio.sleep(pause)


async def put_slowly(
    browser: httpx.AsyncClient, data: bytes, person_id: int, **pace: float | int | None
) -> httpx.Response:
    return await browser.put(
        f"/api/photos/{uuid.uuid4()}",
        content=trickle(data, **pace),  # type: ignore[arg-type]
        params={"person_id": person_id},
        headers={
            "content-type": "image/jpeg",
            "x-csrftoken": await csrf_token(browser),
            "accept-language": "en",
        },
        timeout=30,
    )


async def test_a_trickling_upload_does_not_hold_the_only_upload_slot(
    running_app: Litestar, client_as: ClientAs, world: World, database: Database
) -> None:
    running_app.state.upload_gate = anyio.Semaphore(1)  # a small server: one upload slot
    mother = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    slow_photo = meal_jpeg(1)
    # About 1.6 s from first to last byte, well above the minimum rate: a phone on a weak signal.
    pause = 1.6 / (len(slow_photo) / 2048)
    slow = asyncio.create_task(put_slowly(mother, slow_photo, child, chunk=2048, pause=pause))
    await asyncio.sleep(0.3)
    fast = await api_put(mother, meal_jpeg(2), person_id=child)
    assert fast.status_code == 201, fast.text
    assert not slow.done(), "the fast upload waited for the slow one's body"
    assert (await slow).status_code == 201
    assert await photo_count(database) == 2


async def test_a_body_slower_than_the_minimum_rate_ends_with_408_and_stores_nothing(
    running_app: Litestar, client_as: ClientAs, world: World, database: Database
) -> None:
    running_app.state.upload_grace_seconds = GRACE
    mother = await client_as(personas.CARING_MOTHER)
    photo = meal_jpeg(3)
    assert len(photo) > 8 * 1024  # at 500 bytes a second it would take over 16 s
    started = time.monotonic()
    answer = await put_slowly(mother, photo, world.person_id("xiaoyu"), chunk=100, pause=0.2)
    elapsed = time.monotonic() - started
    assert answer.status_code == 408, answer.text
    assert "too slow" in answer.json()["detail"]
    assert GRACE <= elapsed < GRACE + 3
    assert await photo_count(database) == 0
    assert await stored_keys(running_app) == []


async def test_a_sender_that_goes_silent_is_cut_off_after_the_grace(
    running_app: Litestar, client_as: ClientAs, world: World, database: Database
) -> None:
    running_app.state.upload_grace_seconds = GRACE
    mother = await client_as(personas.CARING_MOTHER)
    started = time.monotonic()
    answer = await put_slowly(
        mother, meal_jpeg(4), world.person_id("xiaoyu"), chunk=1024, pause=0, stall_after=1
    )
    assert answer.status_code == 408
    assert time.monotonic() - started < GRACE + 3
    assert await photo_count(database) == 0


async def test_a_slow_plain_form_upload_ends_with_408_in_chinese(
    running_app: Litestar, client_as: ClientAs, world: World, database: Database
) -> None:
    running_app.state.upload_grace_seconds = GRACE
    mother = await client_as(personas.CARING_MOTHER)
    person_id = world.person_id("xiaoyu")
    fields = {"_csrf_token": await csrf_token(mother), "client_uuid": str(uuid.uuid4())}
    built = mother.build_request(
        "POST",
        f"/people/{person_id}/photos",
        data=fields,
        files={"photo": ("p.jpg", meal_jpeg(5), "image/jpeg")},
    )
    body = built.read()
    answer = await mother.post(
        f"/people/{person_id}/photos",
        content=trickle(body, chunk=100, pause=0.2),
        headers={"content-type": built.headers["content-type"]},
        timeout=30,
    )
    assert answer.status_code == 408
    assert "上传太慢" in answer.text
    assert await photo_count(database) == 0


async def test_a_decode_past_its_time_budget_is_refused_and_nothing_is_stored(
    running_app: Litestar, client_as: ClientAs, world: World, database: Database
) -> None:
    running_app.state.photo_decode_seconds = 0.005  # a 12-megapixel decode takes far longer
    mother = await client_as(personas.CARING_MOTHER)
    answer = await api_put(mother, phone_photo(seed=6), person_id=world.person_id("xiaoyu"))
    assert answer.status_code == 503, answer.text
    assert "读取这张照片用时太长" in answer.json()["detail"]
    assert await photo_count(database) == 0
    assert await stored_keys(running_app) == []
