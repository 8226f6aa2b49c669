"""Helpers for the review tests: unflagged meals made directly, visits sent through the API, decisions."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import httpx
from sqlalchemy import select

from backend.db import Database
from backend.meals.demo import WEEKLY_MENUS
from backend.meals.models import CheckIn
from backend.visits.models import Visit
from tests import personas
from tests.conftest import World, csrf_token
from tests.functional.meals_support import agreement_of, make_checkin, shanghai_today
from tests.functional.visits_support import pairing_id_of, put_visit, visit_body


def past_days(count: int, start_back: int = 1) -> list[date]:
    """Distinct past days inside the demo agreements (they start on the first of last month)."""
    today = shanghai_today()
    return [today - timedelta(days=start_back + n) for n in range(count)]


async def clean_meal(
    database: Database, world: World, day: date, *, seed: int, resident: str = "qian"
) -> CheckIn:
    """A meal with nothing to flag: on time, photo taken at the meal, the menu's own dishes."""
    agreement = await agreement_of(database, world.person_id(resident))
    neighbour = personas.NEIGHBOUR if resident == "qian" else personas.OTHER_NEIGHBOUR
    dishes = WEEKLY_MENUS[neighbour][day.weekday()]
    return await make_checkin(database, agreement, day, seed=seed, dishes=dishes)


async def sent_visit(
    browser: httpx.AsyncClient, database: Database, world: World, child: str = "xiaoyu"
) -> int:
    body = visit_body(await pairing_id_of(database, world, child))
    response = await put_visit(browser, uuid.uuid4(), body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def decide(
    browser: httpx.AsyncClient, kind: str, entry_id: int, decision: str, **fields: str
) -> httpx.Response:
    return await browser.post(
        f"/review/{kind}/{entry_id}",
        data={"_csrf_token": await csrf_token(browser), "decision": decision, **fields},
    )


async def load_checkin(database: Database, checkin_id: int) -> CheckIn:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(CheckIn, checkin_id)


async def load_visit_row(database: Database, visit_id: int) -> Visit:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Visit, visit_id)


async def current_versions(database: Database, agreement_id: int, day: date) -> list[CheckIn]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(CheckIn)
            .where(CheckIn.agreement_id == agreement_id, CheckIn.day == day)
            .order_by(CheckIn.id)
        )
        return list(rows)


def card_order(html: str) -> list[str]:
    return re.findall(r'id="card-((?:meal|visit)-\d+)"', html)
