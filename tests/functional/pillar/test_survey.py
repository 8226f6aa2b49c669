"""The satisfaction survey: the mother answers on her phone, mid-term then final (a third answer is a
409), a double tap stores one row, wrong answers are a 400 in Chinese with nothing stored; her paper
answers recorded by her agency's worker or staff; everyone else 404 (or 403 for the paper form to a
group member who sees the file)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.cases.models import Case
from backend.db import Database
from backend.people.models import Person
from backend.pillar.models import PillarFile, Round, SurveyResponse
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import NAMES, post, today


async def file_ids(database: Database, world: World) -> dict[str, int]:
    """The demo's files by key (as pillar_support.file_ids, without the deprecated Result.tuples())."""
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(Person.display_name, PillarFile.id)
            .join(Case, Case.id == PillarFile.case_id)
            .join(Person, Person.id == Case.person_id)
            .where(PillarFile.programme_id == world.cast.programmes["pillar"].id)
        )
        by_name = {name: file_id for name, file_id in rows}
    return {key: by_name[name] for key, name in NAMES.items()}


CHINESE = re.compile(r"[\u4e00-\u9fff]")
ANSWERS = {"q_overall": "5", "q_group": "4", "q_services": "4", "q_life": "3"}


def client_uuid_of(page: str) -> str:
    found = re.search(r'name="client_uuid" value="([0-9a-f-]{36})"', page)
    assert found is not None
    return found.group(1)


async def answer(browser: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    page = await browser.get("/pillar/survey")
    assert page.status_code == 200
    round_ = re.search(r'name="round" value="([a-z_]+)"', page.text)
    data: dict[str, Any] = {
        "client_uuid": client_uuid_of(page.text),
        "round": round_.group(1) if round_ else "",
        **ANSWERS,
        "comment": "谢谢大家",
    }
    data.update(fields)
    return await post(browser, "/pillar/survey", data)


async def responses(database: Database, file_id: int) -> list[SurveyResponse]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(SurveyResponse).where(SurveyResponse.file_id == file_id).order_by(SurveyResponse.id)
        )
        return list(rows)


async def test_the_mother_answers_mid_term_then_final_and_a_third_time_is_a_409(
    world: World, database: Database, client_as: ClientAs
) -> None:
    files = await file_ids(database, world)
    mother = await client_as(personas.PILLAR_MOTHER)
    page = await mother.get("/pillar/survey")
    assert page.status_code == 200
    assert 'value="mid_term"' in page.text and "很满意" in page.text
    first = await answer(mother)
    assert first.status_code == 303, first.text
    after = await mother.get(first.headers["location"])
    assert 'value="final"' in after.text
    assert (await answer(mother, q_overall="4")).status_code == 303
    done = await mother.get("/pillar/survey")
    assert 'id="survey-form"' not in done.text and 'id="survey-done"' in done.text
    third = await post(
        mother, "/pillar/survey", {"client_uuid": str(uuid.uuid4()), "round": "final", **ANSWERS}
    )
    assert third.status_code == 409
    assert CHINESE.search(third.text)
    rows = await responses(database, files["huang"])
    assert [(r.round, r.q_overall, r.on_paper) for r in rows] == [
        (Round.MID_TERM, 5, False),
        (Round.FINAL, 4, False),
    ]
    assert rows[0].recorded_by_id == world.user_id(personas.PILLAR_MOTHER)
    assert rows[0].mean_x100 == 400
    async with database.transaction(read_only=True) as db:
        events = list(
            await db.scalars(select(AuditEvent).where(AuditEvent.action == "pillar.survey_answered"))
        )
    assert len(events) == 2
    assert all("q_overall" not in str(e.change) and "谢谢" not in str(e.change) for e in events)
    # The other mother's file is untouched.
    assert await responses(database, files["yang"]) == []


async def test_a_double_tap_stores_one_row_and_other_answers_under_the_same_uuid_are_a_409(
    world: World, database: Database, client_as: ClientAs
) -> None:
    files = await file_ids(database, world)
    mother = await client_as(personas.OTHER_PILLAR_MOTHER)
    page = await mother.get("/pillar/survey")
    data = {"client_uuid": client_uuid_of(page.text), "round": "mid_term", **ANSWERS}
    assert (await post(mother, "/pillar/survey", data)).status_code == 303
    assert (await post(mother, "/pillar/survey", data)).status_code == 303
    other = await post(mother, "/pillar/survey", {**data, "q_life": "1"})
    assert other.status_code == 409
    assert CHINESE.search(other.text)
    rows = await responses(database, files["yang"])
    assert len(rows) == 1 and rows[0].q_life == 3


async def test_answers_out_of_range_or_missing_are_a_400_in_chinese_and_nothing_is_stored(
    world: World, database: Database, client_as: ClientAs
) -> None:
    files = await file_ids(database, world)
    mother = await client_as(personas.PILLAR_MOTHER)
    for bad in ({"q_overall": "6"}, {"q_group": "0"}, {"q_services": ""}, {"q_life": "x"}, {"round": "x"}):
        response = await answer(mother, **bad)
        assert response.status_code == 400, bad
        assert CHINESE.search(response.text)
        assert 'role="alert"' in response.text
    missing = await post(mother, "/pillar/survey", {"client_uuid": str(uuid.uuid4()), "round": "mid_term"})
    assert missing.status_code == 400
    assert await responses(database, files["huang"]) == []


async def test_only_a_pillar_mother_reaches_the_survey(
    world: World, database: Database, client_as: ClientAs
) -> None:
    for handle in (
        personas.VOLUNTEER,
        personas.CADRE,
        personas.AGENCY_WORKER,
        personas.PILLAR_STAFF,
        personas.CARING_MOTHER,
    ):
        browser = await client_as(handle)
        assert (await browser.get("/pillar/survey")).status_code == 404, handle
        sent = await post(browser, "/pillar/survey", {"client_uuid": str(uuid.uuid4()), **ANSWERS})
        assert sent.status_code == 404, handle
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count()).select_from(SurveyResponse)) == 0


async def test_the_agency_worker_records_paper_answers_and_group_members_may_not(
    world: World, database: Database, client_as: ClientAs
) -> None:
    files = await file_ids(database, world)
    url = f"/pillar/mothers/{files['huang']}/survey"
    worker = await client_as(personas.AGENCY_WORKER)
    page = await worker.get(url)
    assert page.status_code == 200 and 'id="survey-paper-form"' in page.text
    data = {
        "client_uuid": client_uuid_of(page.text),
        "round": "final",
        "answered_on": today(),
        **ANSWERS,
        "comment": "纸质问卷",
    }
    saved = await post(worker, url, data)
    assert saved.status_code == 303, saved.text
    assert (await post(worker, url, data)).status_code == 303  # sent again: the same row
    rows = await responses(database, files["huang"])
    assert [(r.round, r.on_paper, r.recorded_by_id) for r in rows] == [
        (Round.FINAL, True, world.user_id(personas.AGENCY_WORKER))
    ]
    assert rows[0].answered_on.isoformat() == today()
    # The mother's own page now asks the mid-term round only, then thanks her.
    mother = await client_as(personas.PILLAR_MOTHER)
    assert 'value="mid_term"' in (await mother.get("/pillar/survey")).text
    # A paper day in the future, or no round, is a 400; the final round again with other answers a 409.
    future = await post(worker, url, {**data, "client_uuid": str(uuid.uuid4()), "answered_on": "2100-01-01"})
    assert future.status_code == 400 and CHINESE.search(future.text)
    again = await post(worker, url, {**data, "client_uuid": str(uuid.uuid4())})
    assert again.status_code == 409 and CHINESE.search(again.text)
    # Staff may record too; the cadre and a volunteer see the file but may not (403); a volunteer of
    # another group does not see it (404).
    staff = await client_as(personas.PILLAR_STAFF)
    assert (await staff.get(url)).status_code == 200
    for handle, status in (
        (personas.CADRE, 403),
        (personas.VOLUNTEER, 403),
        (personas.PILLAR_MOTHER, 403),
        (personas.YANG_ONLY_VOLUNTEER, 404),
        (personas.CARING_MOTHER, 404),
    ):
        browser = await client_as(handle)
        assert (await browser.get(url)).status_code == status, handle
        assert (await post(browser, url, {**data, "client_uuid": str(uuid.uuid4())})).status_code == status
    assert len(await responses(database, files["huang"])) == 1
