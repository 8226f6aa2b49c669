"""Home assessments of a case: the plain multipart form, photos, re-assessments, the rules and who may."""

from __future__ import annotations

from datetime import date, timedelta

from backend.cases.models import AssessmentRating, CaseStatus
from backend.db import Database
from tests.conftest import ClientAs, World
from tests.data.corpus import phone_photo
from tests.functional.cases.test_cases_support import (
    STAFF,
    WORKER_CHEN,
    WORKER_GAO,
    WORKER_HE,
    assess,
    assessment_fields,
    assessment_photo_count,
    assessments_of,
    demo_case_id,
    dimensions,
    history,
    load_case,
    open_case,
    post,
    today,
)
from tests.functional.photos_support import audit_actions, photo_count


async def test_worker_records_an_assessment_without_photos_and_the_case_is_assessed(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    page = await he.get(f"/cases/{case_id}/assessments/new")
    assert page.status_code == 200 and 'id="assessment-form"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    fields = await assessment_fields(database, world, rating="2")
    response = await assess(he, case_id, fields)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"].startswith(f"/cases/{case_id}")
    assert (await load_case(database, case_id)).status is CaseStatus.ASSESSED
    assert await history(database, case_id) == [(None, "accepted"), ("accepted", "assessed")]
    found = await assessments_of(database, case_id)
    assert len(found) == 1 and found[0].assessed_on == date.fromisoformat(today())
    async with database.transaction(read_only=True) as db:
        from sqlalchemy import select

        ratings = list(
            await db.scalars(select(AssessmentRating).where(AssessmentRating.assessment_id == found[0].id))
        )
    assert len(ratings) == len(await dimensions(database, world)) and {r.rating for r in ratings} == {2}
    event = (await audit_actions(database, "case.assessed"))[-1]
    assert event.subject_id == str(case_id) and "note" not in event.change

    # The same form sent again (a double tap): the same assessment, nothing new.
    again = await assess(he, case_id, fields)
    assert again.status_code == 303 and len(await assessments_of(database, case_id)) == 1


async def test_an_assessment_with_two_photos_keeps_them_as_thumbnails_and_a_reassessment_adds_a_row(
    client_as: ClientAs, world: World, database: Database
) -> None:
    gao = await client_as(WORKER_GAO)
    case_id = await open_case(gao, world)
    photos = [phone_photo((640, 480), seed=11), phone_photo((640, 480), seed=12)]
    response = await assess(gao, case_id, await assessment_fields(database, world), photos)
    assert response.status_code == 303, response.text[:2000]
    first = (await assessments_of(database, case_id))[0]
    assert await assessment_photo_count(database, first.id) == 2
    page = await gao.get(f"/cases/{case_id}")
    assert page.text.count("/photos/") >= 2 and f'id="assessment-{first.id}"' in page.text
    later = await assess(gao, case_id, await assessment_fields(database, world, rating="4"))
    assert later.status_code == 303
    rows = await assessments_of(database, case_id)
    assert len(rows) == 2 and rows[0].id == first.id
    assert (await load_case(database, case_id)).status is CaseStatus.ASSESSED
    assert await history(database, case_id) == [(None, "accepted"), ("accepted", "assessed")]


async def test_ratings_outside_one_to_five_or_text_are_refused_in_chinese_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    first = (await dimensions(database, world))[0]
    for bad in ("0", "6", "好", "", "3.5", "-1"):
        fields = await assessment_fields(database, world, **{f"rating-{first.id}": bad})
        response = await assess(he, case_id, fields)
        assert response.status_code == 400, bad
        assert f'id="rating-{first.id}-error"' in response.text
        assert "请给出 1（需求严重）到 5（没有需求）的评分。" in response.text
    assert await assessments_of(database, case_id) == []
    assert (await load_case(database, case_id)).status is CaseStatus.ACCEPTED


async def test_a_day_in_the_future_or_before_the_case_opened_is_refused(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    day = date.fromisoformat(today())
    for bad in (
        (day + timedelta(days=1)).isoformat(),
        (day - timedelta(days=3)).isoformat(),
        "2026-13-40",
        "x",
    ):
        response = await assess(he, case_id, await assessment_fields(database, world, assessed_on=bad))
        assert response.status_code == 400, bad
        assert 'id="assessed_on-error"' in response.text
    assert await assessments_of(database, case_id) == []


async def test_a_seventh_photo_is_refused_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    before = await photo_count(database)
    photos = [phone_photo((64, 48), seed=n) for n in range(7)]
    response = await assess(he, case_id, await assessment_fields(database, world), photos)
    assert response.status_code == 400 and 'id="photos-error"' in response.text
    assert await assessments_of(database, case_id) == [] and await photo_count(database) == before


async def test_only_the_stations_workers_assess_staff_get_403_and_others_404(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case_id = await demo_case_id(database, world)  # Liu'an
    fields = await assessment_fields(database, world)
    staff = await client_as(STAFF)
    assert (await assess(staff, case_id, fields)).status_code == 403
    he = await client_as(WORKER_HE)
    assert (await assess(he, case_id, fields)).status_code == 404
    assert (await he.get(f"/cases/{case_id}/assessments/new")).status_code == 404
    before = len(await assessments_of(database, case_id))
    chen = await client_as(WORKER_CHEN)
    assert (await assess(chen, case_id, fields)).status_code == 303
    assert len(await assessments_of(database, case_id)) == before + 1


async def test_another_workers_form_uuid_is_refused_without_touching_her_assessment(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he, gao = await client_as(WORKER_HE), await client_as(WORKER_GAO)
    his_case = await open_case(he, world)
    her_case = await open_case(gao, world)
    fields = await assessment_fields(database, world)
    assert (await assess(he, his_case, fields)).status_code == 303
    stolen = await assess(gao, her_case, fields)
    assert stolen.status_code == 409 and 'id="assessment-form"' in stolen.text
    assert await assessments_of(database, her_case) == []
    assert len(await assessments_of(database, his_case)) == 1


async def test_a_resent_form_is_one_assessment_and_other_words_under_its_uuid_are_a_409(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    fields = await assessment_fields(database, world)
    assert (await assess(he, case_id, fields)).status_code == 303
    assert (await assess(he, case_id, fields)).status_code == 303  # the response was lost: sent again
    changed = await assess(he, case_id, {**fields, "note": "改过的说明"})
    assert changed.status_code == 409 and 'id="assessment-form"' in changed.text
    [kept] = await assessments_of(database, case_id)
    assert kept.note == fields["note"]


async def test_a_requested_case_is_accepted_before_it_is_assessed(
    client_as: ClientAs, world: World, database: Database
) -> None:
    from backend.cases.service import do_open_case
    from backend.people.models import Area, Person, Programme, User

    async with database.transaction() as db:
        case = await do_open_case(
            db,
            programme=await db.get_one(Programme, world.cast.programmes["station"].id),
            area=await db.get_one(Area, world.cast.areas["wutong"].id),
            person=await db.get_one(Person, world.person_id("tang")),
            lead_worker_id=None,
            actor=await db.get_one(User, world.user_id(STAFF)),
        )
        case_id = case.id
    he = await client_as(WORKER_HE)
    response = await assess(he, case_id, await assessment_fields(database, world))
    assert response.status_code == 409 and await assessments_of(database, case_id) == []
    lead = await post(he, f"/cases/{case_id}/lead", {"lead_worker_id": str(world.user_id(WORKER_HE))})
    assert lead.status_code == 409  # a requested case is accepted first; its lead comes with that
