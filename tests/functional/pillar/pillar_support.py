"""Helpers for the pillar-mother tests (no tests here): the demo's two files by key, and a form post."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from backend import clock
from backend.cases.models import Case
from backend.db import Database
from backend.people.models import Person
from backend.pillar.models import PillarFile
from tests.conftest import World, csrf_token

ZONE = ZoneInfo("Asia/Shanghai")
NAMES = {"huang": "黄美兰", "yang": "杨春燕"}


def today() -> str:
    """The chosen clock's day where the programme runs (tests never read the machine's date)."""
    return clock.today_in(ZONE).isoformat()


async def file_ids(database: Database, world: World) -> dict[str, int]:
    """The demo's files: {"huang": id, "yang": id}."""
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(Person.display_name, PillarFile.id)
            .join(Case, Case.id == PillarFile.case_id)
            .join(Person, Person.id == Case.person_id)
            .where(PillarFile.programme_id == world.cast.programmes["pillar"].id)
        )
        by_name = {name: file_id for name, file_id in rows}
    return {key: by_name[name] for key, name in NAMES.items()}


async def post(
    browser: httpx.AsyncClient, url: str, fields: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    data = {"_csrf_token": await csrf_token(browser), **(fields or {})}
    return await browser.post(url, data=data, **kw)
