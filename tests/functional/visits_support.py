"""Helpers for the visit tests: the demo's pairings, sending a visit the two ways a phone does."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backend import clock
from backend.db import Database
from backend.visits.models import Pairing, PairingStatus, Visit
from tests.conftest import World, csrf_token
from tests.functional.photos_support import api_put


async def pairing_id_of(database: Database, world: World, child_key: str) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Pairing.id).where(
                Pairing.child_id == world.person_id(child_key), Pairing.status == PairingStatus.ACTIVE
            )
        )
    assert found is not None, child_key
    return int(found)


async def visit_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Visit.id))) or 0)


async def load_visit(database: Database, visit_id: int) -> Visit:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Visit, visit_id)


def visit_body(pairing_id: int, *, photos: list[uuid.UUID] | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pairing_id": pairing_id,
        "visited_at": (clock.utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0).isoformat(),
        "duration_minutes": 60,
        "need_areas": ["daily_life", "mind_character"],
        "checklist_item_ids": [],
        "note": "陪孩子读书",
        "photo_uuids": [str(u) for u in photos or []],
    }
    body.update(changes)
    return body


async def put_visit(
    browser: httpx.AsyncClient, client_uuid: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await browser.put(
        f"/api/visits/{client_uuid}", json=body, headers={"x-csrftoken": await csrf_token(browser)}
    )


async def send_photo(browser: httpx.AsyncClient, person_id: int, data: bytes) -> uuid.UUID:
    photo_uuid = uuid.uuid4()
    response = await api_put(browser, data, client_uuid=photo_uuid, person_id=person_id)
    assert response.status_code == 201, response.text
    return photo_uuid


def local_now_field() -> str:
    from zoneinfo import ZoneInfo

    return (clock.now_in(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")


async def form_visit(
    browser: httpx.AsyncClient,
    pairing_id: int,
    *,
    photos: list[bytes] = (),  # type: ignore[assignment]
    need_areas: tuple[str, ...] = ("daily_life", "social_integration"),
    client_uuid: str | None = None,
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    fields: dict[str, Any] = {
        "_csrf_token": await csrf_token(browser),
        "client_uuid": client_uuid or str(uuid.uuid4()),
        "pairing_id": str(pairing_id),
        "visited_at": local_now_field(),
        "duration_minutes": "45",
        "need_area": list(need_areas),
        "note": "一起做了手工",
        **(extra or {}),
    }
    files = [("photos", (f"p{n}.jpg", data, "image/jpeg")) for n, data in enumerate(photos)]
    return await browser.post("/visits", data=fields, files=files or None)


async def a_visit_of(database: Database, world: World, child_key: str) -> int:
    """The child's latest current visit; one is logged (by the paired mother) if there is none."""
    from backend.people.models import User
    from backend.visits.models import NeedArea
    from backend.visits.service import VisitDraft, do_log_visit

    async with database.transaction() as db:
        found = await db.scalar(
            select(Visit.id)
            .where(Visit.child_id == world.person_id(child_key), Visit.superseded_at.is_(None))
            .order_by(Visit.id.desc())
            .limit(1)
        )
        if found is not None:
            return int(found)
        pairing = await db.get_one(Pairing, await pairing_id_of(database, world, child_key))
        mother = await db.get_one(User, pairing.mother_id)
        when = clock.utcnow() - timedelta(days=2)
        draft = VisitDraft(pairing.id, when, 60, (NeedArea.DAILY_LIFE,), (), "", ())
        visit = await do_log_visit(db, pairing, draft, [], client_uuid=uuid.uuid4(), actor=mother)
        return visit.id


# The demo's active pairings by child key, filled by load_pairing_ids (the matrix reads it synchronously).
pairing_ids: dict[str, int] = {}


async def load_pairing_ids(database: Database, world: World) -> None:
    pairing_ids.clear()
    for key in ("xiaoyu", "duoduo", "lele"):
        pairing_ids[key] = await pairing_id_of(database, world, key)


# Caring-mother programmes and a checklist item of each ("programme_id:mothers", "item_id:outsider").
programme_objects: dict[str, int] = {}


async def load_programme_objects(database: Database, world: World) -> None:
    """The demo programme and the outsider's (which is given one checklist item of its own)."""
    from backend.visits.models import ChecklistItem, NeedArea

    programme_objects.clear()
    async with database.transaction() as db:
        foreign = ChecklistItem(
            programme_id=world.outsider_programme_id, need_area=NeedArea.DAILY_LIFE, label="外区", position=1
        )
        db.add(foreign)
        await db.flush()
        own = await db.scalar(
            select(ChecklistItem.id)
            .where(ChecklistItem.programme_id == world.cast.programmes["mothers"].id)
            .order_by(ChecklistItem.id)
            .limit(1)
        )
        assert own is not None
        programme_objects.update(
            {
                "programme_id:mothers": world.cast.programmes["mothers"].id,
                "programme_id:outsider": world.outsider_programme_id,
                "item_id:mothers": int(own),
                "item_id:outsider": foreign.id,
            }
        )


# Areas (their meetings) and meetings, by key: "wutong", "liuan", "district" (the demo's) and
# "outsider" (another district's), filled by load_meeting_objects as "area_id:<key>", "meeting_id:<key>".
meeting_objects: dict[str, int] = {}


async def load_meeting_objects(database: Database, world: World) -> None:
    """A street meeting of Wutong (王秀英 came), one of Liu'an (张丽 came) and one in another district."""
    from datetime import date

    from backend.people.models import Area, AreaLevel
    from backend.visits.models import Meeting, MeetingAttendee, MeetingLevel

    meeting_objects.clear()
    areas = world.cast.areas
    async with database.transaction() as db:
        outsider_street = await db.scalar(
            select(Area).where(
                Area.level == AreaLevel.STREET, Area.id.not_in([areas["wutong"].id, areas["liuan"].id])
            )
        )
        assert outsider_street is not None
        places = {
            "wutong": (world.cast.programmes["mothers"].id, areas["wutong"].id, "demo-mother-wang"),
            "liuan": (world.cast.programmes["mothers"].id, areas["liuan"].id, "demo-mother-zhang"),
            "outsider": (world.outsider_programme_id, outsider_street.id, None),
        }
        for key, (programme_id, area_id, mother) in places.items():
            meeting = Meeting(
                programme_id=programme_id,
                area_id=area_id,
                level=MeetingLevel.STREET_MONTHLY,
                held_on=date(2025, 1, 1),  # never the demo meeting's day
                others_count=1,
                results="",
                problems="",
                recorded_by_id=world.user_id("demo-staff-zhou"),
            )
            if mother is not None:
                meeting.attendees = [MeetingAttendee(user_id=world.user_id(mother))]
            db.add(meeting)
            await db.flush()
            meeting_objects[f"meeting_id:{key}"] = meeting.id
            meeting_objects[f"area_id:{key}"] = area_id
    meeting_objects["area_id:district"] = areas["district"].id
