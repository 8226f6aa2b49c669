"""Concurrent writes: no "database is locked", no lost or doubled rows; a stuck lock is a clean 503."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from backend.audit import verify_chain
from backend.auth.models import Session
from backend.db import Database
from backend.people.models import Area, Programme, Role
from backend.settings import Settings
from tests import factories, personas
from tests.conftest import NewBrowser, World, browsers_of, csrf_token, issue_code


async def test_fifty_simultaneous_signins_all_succeed_once(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    # Fifty people, one card each (a new card voids a person's older unused ones): the five personas
    # and 45 more neighbours of the meal programme, as in a room signing in together.
    handles = [
        personas.NEIGHBOUR,
        personas.CARING_MOTHER,
        personas.SOCIAL_WORKER,
        personas.STAFF,
        personas.OUTSIDER,
    ]
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        area = await db.get_one(Area, programme.area_id)
        for n in range(45):
            user = await factories.make_user(
                db, f"room-{n}", role=Role.NEIGHBOUR, programme=programme, area=area
            )
            handles.append(user.handle)
    codes = [await issue_code(database, handle) for handle in handles]
    browsers = [new_browser() for _ in codes]
    tokens = [await csrf_token(b) for b in browsers]

    responses = await asyncio.gather(
        *(
            b.post("/signin", data={"code": c, "_csrf_token": t})
            for b, c, t in zip(browsers, codes, tokens, strict=True)
        )
    )

    assert [r.status_code for r in responses] == [303] * 50
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Session.id))) == 50
        assert (await verify_chain(db)).first_bad_id is None


async def test_the_same_code_sent_from_five_phones_at_once_signs_in_exactly_one(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    browsers = [new_browser() for _ in range(5)]
    tokens = [await csrf_token(b) for b in browsers]
    responses = await asyncio.gather(
        *(
            b.post("/signin", data={"code": code, "_csrf_token": t})
            for b, t in zip(browsers, tokens, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [303, 400, 400, 400, 400]
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Session.id))) == 1


# SQLite only: its write lock covers the whole database (PostgreSQL locks rows).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_writer_holding_the_sqlite_lock_past_the_timeout_gives_a_clean_503(
    settings: Settings, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    blocker = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None)
    try:
        async with browsers_of(replace(settings, sqlite_busy_timeout_ms=200)) as (browser,):
            token = await csrf_token(browser)
            blocker.execute("BEGIN IMMEDIATE")
            response = await browser.post("/signin", data={"code": code, "_csrf_token": token})
            blocker.execute("ROLLBACK")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "2"
            assert "服务器正忙，本次内容未保存" in response.text
            # nothing was half-done: the code still works once the lock is gone
            retry = await browser.post("/signin", data={"code": code, "_csrf_token": token})
            assert retry.status_code == 303
    finally:
        blocker.close()
