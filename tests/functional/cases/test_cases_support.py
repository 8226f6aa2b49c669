"""Helpers for the case-page tests (no tests here): the station personas, opening, assessing and
planning a case through the real forms, and reading what was stored."""

from __future__ import annotations

import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from backend import clock
from backend.cases.models import (
    Assessment,
    AssessmentPhoto,
    Case,
    CaseDimension,
    CaseStatusChange,
    Goal,
    PlanItem,
    ServiceItem,
)
from backend.db import Database
from tests.conftest import World, csrf_token

WORKER_HE = "demo-sw-he"  # Wutong Street station
WORKER_GAO = "demo-sw-gao"  # Wutong Street station
WORKER_CHEN = "demo-sw-chen"  # Liu'an Street station (the demo's case of 徐小军 is hers)
SCOUT = "demo-scout-ma"
STAFF = "demo-staff-zhou"
NEIGHBOUR = "demo-neighbour-zhao"
MOTHER = "demo-mother-wang"
ZONE = ZoneInfo("Asia/Shanghai")


def today() -> str:
    """The chosen clock's day where the programme runs (tests never read the machine's date)."""
    return clock.today_in(ZONE).isoformat()


def case_id_of(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text[:2000]
    found = re.match(r"^/cases/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


async def post(
    browser: httpx.AsyncClient, url: str, fields: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    data = {"_csrf_token": await csrf_token(browser), **(fields or {})}
    return await browser.post(url, data=data, **kw)


async def open_case(browser: httpx.AsyncClient, world: World, key: str | None = None, name: str = "") -> int:
    """A case opened on the page: for a household of the demo (`key`), or for a new person of Guiyuan
    (the demo's own households may already have cases of their own)."""
    if key is not None:
        fields = {"person_id": str(world.person_id(key))}
    else:
        name = name or f"居民{uuid.uuid4().hex[:6]}"
        fields = {"display_name": name, "area_id": str(world.cast.areas["guiyuan"].id)}
    return case_id_of(await post(browser, "/cases/new", fields))


async def dimensions(database: Database, world: World) -> list[CaseDimension]:
    programme_id = world.cast.programmes["station"].id
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(CaseDimension)
            .where(CaseDimension.programme_id == programme_id, CaseDimension.retired_at.is_(None))
            .order_by(CaseDimension.position)
        )
        return list(rows)


async def assessment_fields(
    database: Database, world: World, rating: str = "3", **extra: str
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "client_uuid": str(uuid.uuid4()),
        "assessed_on": today(),
        "note": "家中整洁，老人行动不便。",
    }
    for dimension in await dimensions(database, world):
        fields[f"rating-{dimension.id}"] = rating
        fields[f"note-{dimension.id}"] = "一般"
    fields.update(extra)
    return fields


async def assess(
    browser: httpx.AsyncClient,
    case_id: int,
    fields: dict[str, Any],
    photos: list[bytes] = (),  # type: ignore[assignment]
) -> httpx.Response:
    files = [("photos", (f"p{n}.jpg", data, "image/jpeg")) for n, data in enumerate(photos)]
    return await post(browser, f"/cases/{case_id}/assessments/new", fields, files=files or None)


async def service_item_ids(database: Database, world: World) -> list[int]:
    programme_id = world.cast.programmes["station"].id
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(ServiceItem.id)
            .where(ServiceItem.programme_id == programme_id, ServiceItem.retired_at.is_(None))
            .order_by(ServiceItem.package_id, ServiceItem.position)
        )
        return list(rows)


async def plan(browser: httpx.AsyncClient, case_id: int, action: str, **fields: str) -> httpx.Response:
    return await post(browser, f"/cases/{case_id}/plan", {"action": action, **fields})


async def add_goal(browser: httpx.AsyncClient, database: Database, world: World, case_id: int) -> int:
    dimension = (await dimensions(database, world))[0]
    response = await plan(
        browser, case_id, "add_goal", dimension_id=str(dimension.id), goal_text="每周能自己下楼走动"
    )
    assert response.status_code == 303, response.text[:2000]
    goals = await goals_of(database, case_id)
    return goals[-1].id


async def add_item(
    browser: httpx.AsyncClient, database: Database, world: World, case_id: int, **fields: str
) -> httpx.Response:
    values = {
        "service_item_id": str((await service_item_ids(database, world))[0]),
        "deliverer_kind": "worker",
        "deliverer_user_id": str(world.user_id(WORKER_HE)),
        "frequency": "weekly",
        **fields,
    }
    return await plan(browser, case_id, "add_item", **values)


async def load_case(database: Database, case_id: int) -> Case:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Case, case_id)


async def history(database: Database, case_id: int) -> list[tuple[str | None, str]]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(CaseStatusChange).where(CaseStatusChange.case_id == case_id).order_by(CaseStatusChange.id)
        )
        return [(r.from_status.value if r.from_status else None, r.to_status.value) for r in rows]


async def assessments_of(database: Database, case_id: int) -> list[Assessment]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(select(Assessment).where(Assessment.case_id == case_id).order_by(Assessment.id))
        )


async def assessment_photo_count(database: Database, assessment_id: int) -> int:
    async with database.transaction(read_only=True) as db:
        return int(
            await db.scalar(select(func.count()).where(AssessmentPhoto.assessment_id == assessment_id)) or 0
        )


async def goals_of(database: Database, case_id: int) -> list[Goal]:
    async with database.transaction(read_only=True) as db:
        return list(await db.scalars(select(Goal).where(Goal.case_id == case_id).order_by(Goal.id)))


async def items_of(database: Database, case_id: int) -> list[PlanItem]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(select(PlanItem).where(PlanItem.case_id == case_id).order_by(PlanItem.id))
        )


async def demo_case_id(database: Database, world: World) -> int:
    """The demo's case of 徐小军 at Liu'an (led by 陈)."""
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(select(Case.id).where(Case.person_id == world.person_id("xu")))
    assert found is not None
    return int(found)
