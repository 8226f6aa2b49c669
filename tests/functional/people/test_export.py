"""The access right: staff of the person's programme export everything Carelog holds about a person or a
user as a ZIP (person.json or user.json and the photos' display copies named by their hash), audited;
social workers get 403 and staff of another programme 404."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database
from backend.people.models import Area, Programme, Role
from tests import factories, personas
from tests.conftest import ClientAs, World
from tests.functional import visits_support
from tests.functional.meals_support import meal_jpeg
from tests.functional.people.rights_support import NAME, REFERENCE, make_resident, open_zip, post_form


async def _events(database: Database, action: str, subject_id: int) -> list[AuditEvent]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject_id == str(subject_id))
        )
        return list(rows)


async def test_staff_export_of_a_resident_holds_her_checkins_and_photos_matching_their_hashes(
    database: Database, world: World, client_as: ClientAs
) -> None:
    resident = await make_resident(database, world, client_as)
    staff = await client_as(personas.STAFF)

    detail = await staff.get(f"/people/{resident.person_id}")
    assert f'href="/people/{resident.person_id}/export"' in detail.text
    page = await staff.get(f"/people/{resident.person_id}/export")
    assert page.status_code == 200
    assert f'action="/people/{resident.person_id}/export"' in page.text
    response = await post_form(staff, f"/people/{resident.person_id}/export")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/zip")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert NAME not in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    archive = open_zip(response)
    assert archive.testzip() is None
    doc = json.loads(archive.read("person.json"))
    assert doc["person"]["display_name"] == NAME
    assert doc["person"]["reference"] == REFERENCE
    assert doc["person"]["note"] == "住三楼，钥匙在门垫下"
    assert {c["id"] for c in doc["meal_checkins"]} == set(resident.checkin_ids)
    assert all(c["status"] == "approved" and c["dishes"] for c in doc["meal_checkins"])
    assert [a["id"] for a in doc["meal_agreements"]] == [resident.agreement_id]
    by_id = {p["id"]: p for p in doc["photos"]}
    assert set(resident.photo_ids) <= set(by_id)
    for checkin in doc["meal_checkins"]:
        for photo_id in checkin["photo_ids"]:
            entry = by_id[photo_id]
            data = archive.read(entry["file"])
            assert entry["file"] == f"photos/{entry['display_sha256']}.jpg"
            assert hashlib.sha256(data).hexdigest() == entry["display_sha256"]
    assert doc["photos_missing_in_store"] == []
    assert any(e["action"] == "person.created" for e in doc["audit_events"])
    events = await _events(database, "person.exported", resident.person_id)
    assert len(events) == 1 and events[0].actor_id == world.user_id(personas.STAFF)
    assert NAME not in json.dumps(events[0].change, ensure_ascii=False)


async def test_staff_export_of_a_child_holds_her_visit_and_its_photo(
    database: Database, world: World, client_as: ClientAs
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    child_id = world.person_id("xiaoyu")
    photo_bytes = meal_jpeg(4242)
    photo_uuid = await visits_support.send_photo(mother, child_id, photo_bytes)
    pairing_id = await visits_support.pairing_id_of(database, world, "xiaoyu")
    sent = await visits_support.put_visit(
        mother, uuid.uuid4(), visits_support.visit_body(pairing_id, photos=[photo_uuid], note="他喜欢画画")
    )
    assert sent.status_code == 201, sent.text
    visit_id = sent.json()["id"]
    staff = await client_as(personas.STAFF)

    response = await post_form(staff, f"/people/{child_id}/export")

    assert response.status_code == 200
    archive = open_zip(response)
    doc = json.loads(archive.read("person.json"))
    visit = next(v for v in doc["visits"] if v["id"] == visit_id)
    assert visit["note"] == "他喜欢画画"
    assert len(visit["photo_ids"]) == 1
    photo = next(p for p in doc["photos"] if p["id"] == visit["photo_ids"][0])
    assert hashlib.sha256(archive.read(photo["file"])).hexdigest() == photo["display_sha256"]
    assert hashlib.sha256(photo_bytes).hexdigest() == photo["received_sha256"]
    assert any(p["status"] == "active" for p in doc["pairings"])


async def test_social_worker_may_not_export_a_person_she_sees(world: World, client_as: ClientAs) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    qian = world.person_id("qian")

    assert (await worker.get(f"/people/{qian}")).status_code == 200
    assert (await worker.get(f"/people/{qian}/export")).status_code == 403
    assert (await post_form(worker, f"/people/{qian}/export")).status_code == 403


async def test_staff_of_another_programme_gets_404_for_the_export(
    database: Database, world: World, client_as: ClientAs
) -> None:
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.outsider_programme_id)
        area = await db.get_one(Area, programme.area_id)
        await factories.make_user(db, "outsider-staff", role=Role.STAFF, programme=programme, area=area)
    other = await client_as("outsider-staff")
    qian = world.person_id("qian")

    assert (await other.get(f"/people/{qian}/export")).status_code == 404
    assert (await post_form(other, f"/people/{qian}/export")).status_code == 404
    assert (await post_form(other, f"/users/{world.user_id(personas.NEIGHBOUR)}/export")).status_code == 404
    assert await _events(database, "person.exported", qian) == []


async def test_staff_export_of_a_user_holds_her_roles_entries_sign_ins_and_cards(
    database: Database, world: World, client_as: ClientAs
) -> None:
    await client_as(personas.NEIGHBOUR)  # a sign-in: one card used, one session
    neighbour_id = world.user_id(personas.NEIGHBOUR)
    staff = await client_as(personas.STAFF)

    page = await staff.get(f"/users/{neighbour_id}")
    assert f'href="/users/{neighbour_id}/export"' in page.text
    response = await post_form(staff, f"/users/{neighbour_id}/export")

    assert response.status_code == 200
    doc = json.loads(open_zip(response).read("user.json"))
    assert doc["user"]["id"] == neighbour_id
    assert [m["role"] for m in doc["memberships"]] == ["neighbour"]
    assert doc["sessions"] and all("token_hash" not in s for s in doc["sessions"])
    assert any(c["used_at"] for c in doc["cards_received"])
    assert doc["meal_agreements"]
    assert len(await _events(database, "user.exported", neighbour_id)) == 1
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (
        await post_form(worker, f"/users/{world.user_id(personas.CARING_MOTHER)}/export")
    ).status_code == 403
