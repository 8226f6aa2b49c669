"""Load on SQLite: many check-ins at once, none lost, none doubled, no "database is locked".

PUT /api/checkins reads in a pooled read session and writes in a second one, like uploads; only a few
such requests hold a read session at once (deps.provide_read_db), so fifty at once all get through.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent, verify_chain
from backend.db import Database
from backend.meals.models import CheckIn
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import agreement_of, at, meal_jpeg, put_checkin, put_photo, shanghai_today

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# The three demo neighbours and the residents they cook for. Their agreements began on the first of
# last month, so the last 17 days are always inside them: 3 x 17 = 51 distinct lunches.
COOKS = [(personas.NEIGHBOUR, "qian"), (personas.OTHER_NEIGHBOUR, "zheng"), ("demo-neighbour-wu", "feng")]


async def _bodies(
    client_as: ClientAs, world: World, database: Database, count: int
) -> list[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """`count` distinct lunches, each with its own photo already sent, spread over the three cooks."""
    prepared = []
    for n in range(count):
        handle, resident = COOKS[n % len(COOKS)]
        prepared.append((handle, resident, shanghai_today() - timedelta(days=n // len(COOKS))))
    phones = {handle: await client_as(handle) for handle, _ in COOKS}
    agreements = {r: await agreement_of(database, world.person_id(r)) for _, r in COOKS}
    out = []
    for n, (handle, resident, day) in enumerate(prepared):
        photo = await put_photo(phones[handle], meal_jpeg(n, at(day, 11, 45)), world.person_id(resident))
        body = {
            "agreement_id": agreements[resident].id,
            "slot": "lunch",
            "day": day.isoformat(),
            "dishes": ["米饭", "青菜"],
            "photo_uuids": [str(photo)],
        }
        out.append((phones[handle], body))
    return out


@pytest.mark.parametrize("at_once", [50])
async def test_many_check_ins_at_once_are_all_stored_once_without_a_locked_database(
    client_as: ClientAs, world: World, database: Database, at_once: int
) -> None:
    prepared = await _bodies(client_as, world, database, at_once)
    responses = await asyncio.gather(*(put_checkin(phone, body) for phone, body in prepared))
    refused = [r.text[:200] for r in responses if r.status_code != 201]
    assert not refused
    assert not [r for r in responses if "locked" in r.text]
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(CheckIn.id))) == at_once
        meals = (await db.execute(select(CheckIn.agreement_id, CheckIn.day, CheckIn.slot))).all()
        assert len(set(meals)) == at_once
        assert (await verify_chain(db)).first_bad_id is None


@pytest.mark.parametrize("at_once", [50])
async def test_the_same_check_in_many_times_at_once_is_one_row(
    client_as: ClientAs, world: World, database: Database, at_once: int
) -> None:
    [(phone, body)] = await _bodies(client_as, world, database, 1)
    name = uuid.uuid4()
    responses = await asyncio.gather(*(put_checkin(phone, body, name) for _ in range(at_once)))
    assert sorted(r.status_code for r in responses) == [200] * (at_once - 1) + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(CheckIn.id))) == 1
        submitted = select(func.count(AuditEvent.id)).where(AuditEvent.action == "meal_checkin.submitted")
        assert await db.scalar(submitted) == 1
