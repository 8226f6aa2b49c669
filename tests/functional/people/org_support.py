"""Helpers for the organisation page tests: an administrator on an empty database, forms as pages post."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from backend.db import Database
from backend.people.models import Area, Programme, User
from backend.people.service import do_create_user
from tests.conftest import ClientAs, csrf_token

CODE = re.compile(r'class="code card-code">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<')


async def admin_browser(database: Database, client_as: ClientAs) -> httpx.AsyncClient:
    async with database.transaction() as db:
        await do_create_user(db, handle="root-admin", display_name="管理员", actor=None, is_admin=True)
    return await client_as("root-admin")


async def post(browser: httpx.AsyncClient, url: str, **fields: str | int) -> httpx.Response:
    data = {k: str(v) for k, v in fields.items()}
    return await browser.post(url, data={**data, "_csrf_token": await csrf_token(browser)})


async def create_programme(browser: httpx.AsyncClient, **fields: str | int) -> httpx.Response:
    return await post(browser, "/programmes", time_zone="Asia/Shanghai", **fields)


async def programme_id(database: Database, name: str) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(select(Programme.id).where(Programme.name == name))
    assert found is not None
    return found


async def area_id(database: Database, name: str) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(select(Area.id).where(Area.name == name))
    assert found is not None
    return found


async def user_id(database: Database, name: str) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(select(User.id).where(User.display_name == name).order_by(User.id.desc()))
    assert found is not None
    return found


async def add_user_and_card(browser: httpx.AsyncClient, **fields: str | int) -> str:
    """Add a person through the form and follow its 307 to her card, as a browser does: the card's code."""
    data = {**{k: str(v) for k, v in fields.items()}, "_csrf_token": await csrf_token(browser)}
    added = await browser.post("/users", data=data)
    assert added.status_code == 307, added.text
    card = await browser.post(added.headers["location"], data=data)
    assert card.status_code == 200, card.text
    code = CODE.search(card.text)
    assert code is not None
    return code.group(1)


async def sign_in_with(browser: httpx.AsyncClient, code: str) -> None:
    signed = await browser.post("/signin", data={"code": code, "_csrf_token": await csrf_token(browser)})
    assert signed.status_code == 303
    # A new user's home page shows the privacy notice first: she reads it (auth/test_notice.py).
    read = await browser.post("/privacy", data={"_csrf_token": await csrf_token(browser)})
    assert read.status_code == 303
