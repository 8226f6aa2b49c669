"""Caring mothers' visit logs: the plain form, the idempotent API, who sees a visit, the correction window."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from backend.db import Database
from backend.visits.models import Visit, VisitPhoto, VisitStatus
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.meals_support import checkin_count
from tests.functional.photos_support import audit_actions, photo_count
from tests.functional.visits_support import (
    form_visit,
    load_visit,
    local_now_field,
    pairing_id_of,
    put_visit,
    send_photo,
    visit_body,
    visit_count,
)


def _visit_id(response_location: str) -> int:
    found = re.match(r"^/visits/(\d+)\?sent=1$", response_location)
    assert found, response_location
    return int(found.group(1))


async def test_mother_logs_a_visit_with_two_photos_and_two_need_areas_through_the_plain_form(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    page = await mother.get(f"/visits/new?pairing_id={pairing}")
    assert page.status_code == 200
    assert 'id="visit-form"' in page.text and 'action="/visits"' in page.text
    before = await visit_count(database)
    photos = [phone_photo((640, 480), seed=1), phone_photo((640, 480), seed=2)]
    client_uuid = str(uuid.uuid4())
    response = await form_visit(mother, pairing, photos=photos, client_uuid=client_uuid)
    assert response.status_code == 303, response.text
    visit_id = _visit_id(response.headers["location"])
    shown = await mother.get(f"/visits/{visit_id}?sent=1")
    assert shown.status_code == 200 and 'id="visit-status"' in shown.text

    async with database.transaction(read_only=True) as db:
        visit = await db.get_one(Visit, visit_id)
        links = (await db.scalars(select(VisitPhoto).where(VisitPhoto.visit_id == visit_id))).all()
    assert visit.status is VisitStatus.PENDING and visit.pairing_id == pairing
    assert sorted(visit.need_areas) == ["daily_life", "social_integration"]
    assert len(links) == 2 and await visit_count(database) == before + 1
    assert [e.subject_id for e in await audit_actions(database, "visit.logged")][-1] == str(visit_id)

    # The same form sent again (a double tap, a lost answer): the same visit, no new rows or photos.
    photos_before = await photo_count(database)
    again = await form_visit(mother, pairing, photos=photos, client_uuid=client_uuid)
    assert again.status_code == 303 and _visit_id(again.headers["location"]) == visit_id
    assert await visit_count(database) == before + 1 and await photo_count(database) == photos_before


async def test_a_visit_without_a_need_area_is_refused_with_the_field_named_and_nothing_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    before = await visit_count(database)
    response = await form_visit(mother, await pairing_id_of(database, world, "xiaoyu"), need_areas=())
    assert response.status_code == 400
    assert 'id="need_areas-error"' in response.text
    assert await visit_count(database) == before


async def test_a_status_sent_in_the_form_is_ignored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    response = await form_visit(mother, pairing, extra={"status": "approved", "mother_id": "1"})
    assert response.status_code == 303
    visit = await load_visit(database, _visit_id(response.headers["location"]))
    assert visit.status is VisitStatus.PENDING and visit.mother_id == world.user_id(personas.CARING_MOTHER)


async def test_mother_cannot_log_a_visit_for_a_child_not_paired_with_her(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    foreign = await pairing_id_of(database, world, "duoduo")
    before = await visit_count(database)
    assert (await mother.get(f"/visits/new?pairing_id={foreign}")).status_code == 403
    assert (await form_visit(mother, foreign)).status_code == 403
    assert (await put_visit(mother, uuid.uuid4(), visit_body(foreign))).status_code == 404
    assert await visit_count(database) == before


async def test_same_visit_sent_five_times_at_once_is_stored_once(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    photo = await send_photo(mother, world.person_id("xiaoyu"), phone_photo((320, 240), seed=3))
    body = visit_body(await pairing_id_of(database, world, "xiaoyu"), photos=[photo])
    client_uuid = uuid.uuid4()
    before = await visit_count(database)
    responses = await asyncio.gather(*[put_visit(mother, client_uuid, body) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert responses[0].json()["status"] == "pending" and responses[0].json()["photo_uuids"] == [str(photo)]
    assert await visit_count(database) == before + 1


async def test_a_uuid_sent_again_with_other_content_or_by_another_mother_is_refused_and_unchanged(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    other = await client_as(personas.OTHER_MOTHER)
    body = visit_body(await pairing_id_of(database, world, "xiaoyu"))
    client_uuid = uuid.uuid4()
    first = await put_visit(mother, client_uuid, body)
    assert first.status_code == 201
    changed = await put_visit(mother, client_uuid, {**body, "duration_minutes": 120})
    assert changed.status_code == 409
    theirs = await put_visit(other, client_uuid, visit_body(await pairing_id_of(database, world, "duoduo")))
    assert theirs.status_code == 409 and "xiaoyu" not in theirs.text
    assert (await load_visit(database, first.json()["id"])).duration_minutes == 60


async def test_photos_are_found_by_client_uuid_only_among_the_senders_own(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    worker = await client_as(personas.SOCIAL_WORKER)
    workers_photo = await send_photo(worker, world.person_id("xiaoyu"), phone_photo((320, 240), seed=5))
    body = visit_body(await pairing_id_of(database, world, "xiaoyu"), photos=[workers_photo])
    response = await put_visit(mother, uuid.uuid4(), body)
    assert response.status_code == 404
    # A photo of another child, even her own upload, does not belong on this child's visit.
    duoduo_pairing = await pairing_id_of(database, world, "duoduo")
    assert (await put_visit(mother, uuid.uuid4(), visit_body(duoduo_pairing))).status_code == 404


async def test_the_api_refuses_a_status_field_and_a_time_without_offset(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    with_status = await put_visit(mother, uuid.uuid4(), {**visit_body(pairing), "status": "approved"})
    assert with_status.status_code == 400 and "status" in with_status.json()["detail"]
    naive = await put_visit(
        mother, uuid.uuid4(), {**visit_body(pairing), "visited_at": "2026-11-25T10:00:00"}
    )
    assert naive.status_code == 400
    future = visit_body(pairing, visited_at="2099-01-01T10:00:00+08:00")
    assert (await put_visit(mother, uuid.uuid4(), future)).status_code == 422
    assert (await put_visit(mother, uuid.uuid4(), visit_body(pairing, need_areas=[]))).status_code == 400


async def test_a_visit_and_its_photos_are_seen_by_the_paired_mother_area_workers_and_staff_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    photo = await send_photo(mother, world.person_id("xiaoyu"), phone_photo((320, 240), seed=6))
    response = await put_visit(
        mother, uuid.uuid4(), visit_body(await pairing_id_of(database, world, "xiaoyu"), photos=[photo])
    )
    visit_id = response.json()["id"]
    async with database.transaction(read_only=True) as db:
        photo_id = (
            await db.scalars(select(VisitPhoto.photo_id).where(VisitPhoto.visit_id == visit_id))
        ).one()
    expected = {
        personas.CARING_MOTHER: 200,
        personas.SOCIAL_WORKER: 200,
        personas.STAFF: 200,
        personas.OTHER_MOTHER: 404,
        personas.OTHER_STREET_WORKER: 404,
        personas.NEIGHBOUR: 404,
        personas.OUTSIDER: 404,
    }
    seen = {}
    for handle in expected:
        browser = mother if handle == personas.CARING_MOTHER else await client_as(handle)
        page = (await browser.get(f"/visits/{visit_id}")).status_code
        thumb = (await browser.get(f"/photos/{photo_id}/thumb")).status_code
        seen[handle] = page if page == thumb else (page, thumb)
    assert seen == expected


async def test_only_the_mother_who_logged_it_may_correct_a_visit(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    response = await form_visit(mother, await pairing_id_of(database, world, "xiaoyu"))
    visit_id = _visit_id(response.headers["location"])
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await worker.get(f"/visits/{visit_id}/correct")).status_code == 403
    other = await client_as(personas.OTHER_MOTHER)
    assert (await other.get(f"/visits/{visit_id}/correct")).status_code == 404


async def test_a_correction_within_24_hours_changes_the_visit_in_place(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    photos = [phone_photo((320, 240), seed=7)]
    visit_id = _visit_id((await form_visit(mother, pairing, photos=photos)).headers["location"])
    page = await mother.get(f"/visits/{visit_id}/correct")
    assert page.status_code == 200 and f'action="/visits/{visit_id}/correct"' in page.text
    corrected = await form_visit(mother, pairing, extra={"duration_minutes": "90"})
    assert corrected.status_code == 303  # a new visit through /visits: not the correction route
    from tests.conftest import csrf_token

    fields = {
        "_csrf_token": await csrf_token(mother),
        "client_uuid": str(uuid.uuid4()),
        "visited_at": local_now_field(),
        "duration_minutes": "120",
        "need_area": ["family_education"],
        "note": "更正：时长两小时",
        # The page ticks each photo already sent; the browser sends them back, so the photos stay.
        "keep_photo": [str(p) for p in (await load_visit_with_photos(database, visit_id))[1]],
    }
    answer = await mother.post(f"/visits/{visit_id}/correct", data=fields)
    assert answer.status_code == 303 and _visit_id(answer.headers["location"]) == visit_id
    visit = await load_visit(database, visit_id)
    assert visit.duration_minutes == 120 and visit.need_areas == ["family_education"]
    assert visit.corrected_at is not None and visit.version == 1 and visit.superseded_at is None
    events = await audit_actions(database, "visit.corrected")
    assert [e.subject_id for e in events] == [str(visit_id)]
    assert len(events[0].change["content_sha256"]) == 2
    assert visit.note == "更正：时长两小时"  # full-width punctuation kept as typed


async def test_after_24_hours_a_correction_is_a_new_version_and_the_old_one_stays(
    world: World, database: Database
) -> None:
    from backend.db import utcnow
    from backend.people.models import User
    from backend.visits import service
    from backend.visits.models import NeedArea, Pairing

    sent_at = utcnow() - timedelta(hours=30)
    async with database.transaction() as db:
        pairing = await db.get_one(Pairing, await pairing_id_of(database, world, "xiaoyu"))
        mother = await db.get_one(User, world.user_id(personas.CARING_MOTHER))
        draft = service.VisitDraft(
            pairing.id, sent_at - timedelta(hours=1), 60, (NeedArea.DAILY_LIFE,), (), "", ()
        )
        old = await service.do_log_visit(
            db, pairing, draft, [], client_uuid=uuid.uuid4(), actor=mother, now=sent_at
        )
        assert not service.may_correct_in_place(old, now=utcnow())
        fixed = service.VisitDraft(pairing.id, draft.visited_at, 90, (NeedArea.DAILY_LIFE,), (), "更正", ())
        new = await service.do_correct_visit(
            db, old, pairing, fixed, [], new_client_uuid=uuid.uuid4(), actor=mother
        )
        old_id, new_id = old.id, new.id
    assert new_id != old_id
    old_row, new_row = await load_visit(database, old_id), await load_visit(database, new_id)
    assert old_row.duration_minutes == 60 and old_row.superseded_at is not None
    assert new_row.replaces_id == old_id and new_row.version == 2 and new_row.status is VisitStatus.PENDING
    assert [e.subject_id for e in await audit_actions(database, "visit.resubmitted")] == [str(new_id)]


async def test_mothers_home_lists_her_children_with_who_is_due_and_a_way_to_log_a_visit(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    page = await mother.get("/")
    pairing = await pairing_id_of(database, world, "xiaoyu")
    assert page.status_code == 200
    assert 'id="visits-home"' in page.text and f'href="/visits/new?pairing_id={pairing}"' in page.text
    assert "陈小宇" in page.text and "林朵朵" not in page.text
    assert 'id="recent-visits"' in page.text  # the demo's past visits


async def test_a_visit_sent_signed_out_is_refused_as_unauthorised(
    new_browser: NewBrowser, world: World, database: Database
) -> None:
    browser = new_browser()
    body = visit_body(await pairing_id_of(database, world, "xiaoyu"))
    response = await put_visit(browser, uuid.uuid4(), body)
    assert response.status_code == 401
    assert await visit_count(database) == 3


@pytest.mark.parametrize("path", ["/api/visits", "/api/checkins", "/api/photos"])
async def test_a_form_encoded_put_sent_signed_out_is_refused_as_unauthorised_not_as_unreadable(
    new_browser: NewBrowser, world: World, database: Database, path: str
) -> None:
    browser = new_browser()
    token = await csrf_token(browser)
    before = await _counts(database)
    # What the access matrix sends: a form body, which no API reads; sign-in is asked for first.
    response = await browser.put(f"{path}/{uuid.uuid4()}", data={"_csrf_token": token, "note": "x"})
    assert response.status_code == 401, response.text
    assert response.json()["detail"] in ("Please sign in first.", "请先登录。")
    assert await _counts(database) == before


async def _counts(database: Database) -> tuple[int, int, int]:
    return (await visit_count(database), await checkin_count(database), await photo_count(database))


async def _correction_fields(mother: httpx.AsyncClient, **extra: object) -> dict[str, object]:
    return {
        "_csrf_token": await csrf_token(mother),
        "client_uuid": str(uuid.uuid4()),
        "visited_at": local_now_field(),
        "duration_minutes": "60",
        "need_area": ["daily_life"],
        "note": "补一张照片",
        **extra,
    }


async def test_a_correction_can_add_a_photo_as_a_new_version_and_the_old_one_keeps_its_own(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    sent = await form_visit(mother, pairing, photos=[phone_photo((320, 240), seed=21)])
    visit_id = _visit_id(sent.headers["location"])
    page = (await mother.get(f"/visits/{visit_id}/correct")).text
    assert 'name="keep_photo"' in page and 'class="camera' in page
    assert page.index('id="visit-photos"') < page.index('id="visit-checklist"')  # photos before the checklist
    old = await load_visit_with_photos(database, visit_id)
    fields = await _correction_fields(mother, keep_photo=[str(old[1][0])])
    answer = await mother.post(
        f"/visits/{visit_id}/correct",
        data=fields,
        files=[("photos", ("new.jpg", phone_photo((320, 240), seed=22), "image/jpeg"))],
    )
    assert answer.status_code == 303, answer.text
    new_id = _visit_id(answer.headers["location"])
    assert new_id != visit_id
    before, before_photos = await load_visit_with_photos(database, visit_id)
    after, after_photos = await load_visit_with_photos(database, new_id)
    assert before.superseded_at is not None and before_photos == old[1]  # the old version is unchanged
    assert after.replaces_id == visit_id and len(after_photos) == 2 and after_photos[0] == old[1][0]


async def test_a_correction_can_replace_a_photo_and_refuses_more_than_six(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    sent = await form_visit(mother, pairing, photos=[phone_photo((320, 240), seed=31)])
    visit_id = _visit_id(sent.headers["location"])
    too_many = await mother.post(
        f"/visits/{visit_id}/correct",
        data=await _correction_fields(
            mother, keep_photo=[str((await load_visit_with_photos(database, visit_id))[1][0])]
        ),
        files=[("photos", (f"{n}.jpg", phone_photo((64, 48), seed=40 + n), "image/jpeg")) for n in range(6)],
    )
    assert too_many.status_code == 400 and "最多 6 张照片" in too_many.text
    assert (await load_visit(database, visit_id)).superseded_at is None
    replaced = await mother.post(
        f"/visits/{visit_id}/correct",
        data=await _correction_fields(mother),  # nothing kept: the one photo is replaced by a new one
        files=[("photos", ("again.jpg", phone_photo((320, 240), seed=32), "image/jpeg"))],
    )
    assert replaced.status_code == 303
    _new, photos = await load_visit_with_photos(database, _visit_id(replaced.headers["location"]))
    _old, old_photos = await load_visit_with_photos(database, visit_id)
    assert len(photos) == 1 and photos != old_photos


async def test_a_correction_without_photo_changes_stays_in_place(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    pairing = await pairing_id_of(database, world, "xiaoyu")
    sent = await form_visit(mother, pairing, photos=[phone_photo((320, 240), seed=51)])
    visit_id = _visit_id(sent.headers["location"])
    kept = (await load_visit_with_photos(database, visit_id))[1]
    answer = await mother.post(
        f"/visits/{visit_id}/correct", data=await _correction_fields(mother, keep_photo=[str(kept[0])])
    )
    assert answer.status_code == 303 and _visit_id(answer.headers["location"]) == visit_id
    assert (await load_visit_with_photos(database, visit_id))[1] == kept


async def load_visit_with_photos(database: Database, visit_id: int) -> tuple[Visit, list[int]]:
    async with database.transaction(read_only=True) as db:
        visit = await db.get_one(Visit, visit_id)
        await db.refresh(visit, ["photo_links"])
        return visit, [link.photo_id for link in visit.photo_links]
