"""Issue 19: a caring mother's access ends with her pairing; her visits stay with the workers.

Each test first shows what she could reach the day before (THREATS.md), then ends the pairing through
the exit steps and asks again.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.db import Database
from backend.evidence.models import Photo
from backend.people.models import Person, User
from backend.visits.exit_service import do_decide_exit, do_record_investigation, do_request_exit
from backend.visits.matching_service import do_confirm_pairing
from backend.visits.models import Pairing, Visit
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import meal_jpeg
from tests.functional.visits_support import pairing_id_of, put_visit, send_photo, visit_body

CHILD = "xiaoyu"  # paired with demo-mother-wang


async def _visit_with_photo(database: Database, world: World, mother: httpx.AsyncClient) -> tuple[int, int]:
    """The mother logs a visit with one photo, as her phone does; returns (visit id, photo id)."""
    pairing_id = await pairing_id_of(database, world, CHILD)
    photo_uuid = await send_photo(mother, world.person_id(CHILD), meal_jpeg(7))
    sent = await put_visit(mother, uuid.uuid4(), visit_body(pairing_id, photos=[photo_uuid]))
    assert sent.status_code == 201, sent.text
    async with database.transaction(read_only=True) as db:
        photo_id = await db.scalar(select(Photo.id).where(Photo.client_uuid == photo_uuid))
    assert photo_id is not None
    return int(sent.json()["id"]), int(photo_id)


async def _end_pairing(database: Database, world: World) -> None:
    """The exit process: requested, investigated, approved (by the child's social worker)."""
    pairing_id = await pairing_id_of(database, world, CHILD)
    async with database.transaction() as db:
        pairing = await db.get_one(Pairing, pairing_id)
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        request = await do_request_exit(db, pairing, "监护人申请退出", actor=worker)
        await do_record_investigation(db, request, "街道已核实", actor=worker)
        await do_decide_exit(db, request, pairing, approve=True, note="同意", actor=worker)


async def _reachable(
    browser: httpx.AsyncClient, world: World, visit_id: int, photo_id: int
) -> dict[str, int]:
    urls = {
        "child": f"/people/{world.person_id(CHILD)}",
        "visit": f"/visits/{visit_id}",
        "thumb": f"/photos/{photo_id}/thumb",
        "display": f"/photos/{photo_id}/display",
    }
    return {name: (await browser.get(url)).status_code for name, url in urls.items()}


async def test_mother_cannot_see_child_or_photos_after_pairing_ends(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    visit_id, photo_id = await _visit_with_photo(database, world, mother)
    assert "陈小宇" in (await mother.get("/visits/new")).text
    assert await _reachable(mother, world, visit_id, photo_id) == {
        "child": 200,
        "visit": 200,
        "thumb": 200,
        "display": 200,
    }
    await _end_pairing(database, world)
    # Her own upload included: what she may no longer see does not exist for her.
    assert await _reachable(mother, world, visit_id, photo_id) == {
        "child": 404,
        "visit": 404,
        "thumb": 404,
        "display": 404,
    }
    form = await mother.get("/visits/new")  # the children she may log a visit for: none now
    assert form.status_code in (200, 403) and "陈小宇" not in form.text


async def test_visits_of_an_ended_pairing_stay_with_the_workers(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    visit_id, photo_id = await _visit_with_photo(database, world, mother)
    await _end_pairing(database, world)
    for handle in (personas.SOCIAL_WORKER, personas.STAFF):
        worker = await client_as(handle)
        assert await _reachable(worker, world, visit_id, photo_id) == {
            "child": 200,
            "visit": 200,
            "thumb": 200,
            "display": 200,
        }, handle
    async with database.transaction(read_only=True) as db:
        visit = await db.get_one(Visit, visit_id)
    assert visit.mother_id == world.user_id(personas.CARING_MOTHER)


async def test_next_mother_of_the_child_does_not_see_the_earlier_mothers_photos(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    _, earlier_photo = await _visit_with_photo(database, world, mother)
    await _end_pairing(database, world)
    async with database.transaction() as db:
        child = await db.scalar(
            select(Person)
            .where(Person.id == world.person_id(CHILD))
            .options(selectinload(Person.area), selectinload(Person.programme))
        )
        assert child is not None
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        await do_confirm_pairing(
            db, child, world.user_id("demo-mother-zhang"), actor=worker, guardian_consent=True
        )
    next_mother = await client_as("demo-mother-zhang")
    assert (await next_mother.get(f"/people/{world.person_id(CHILD)}")).status_code == 200
    assert (await next_mother.get(f"/photos/{earlier_photo}/thumb")).status_code == 404
    own = await send_photo(next_mother, world.person_id(CHILD), meal_jpeg(8))
    async with database.transaction(read_only=True) as db:
        own_id = await db.scalar(select(Photo.id).where(Photo.client_uuid == own))
    assert (await next_mother.get(f"/photos/{own_id}/thumb")).status_code == 200
    # And the earlier mother sees neither.
    assert (await mother.get(f"/photos/{own_id}/thumb")).status_code == 404
