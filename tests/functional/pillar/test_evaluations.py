"""Evaluations of an agency's contract: the satisfaction criterion is scored from the round's survey
answers of the agency's mothers (in integers, rounded half up), the manual ones are typed; it passes at
the contract's pass mark with the financial audit passed. Criteria are added and retired by staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db import Database
from backend.pillar.models import Criterion, CriterionSource, Round
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.photos_support import audit_actions
from tests.functional.pillar.money_support import (
    add_survey,
    criteria,
    demo_contract,
    evaluation_fields,
    evaluations,
    record,
)
from tests.functional.pillar.pillar_support import file_ids, post


async def _surveys(database: Database, world: World) -> None:
    """黄美兰 answers 5, 5, 4, 4 and 杨春燕 3, 4, 4, 4 at mid-term: 33 points over 8 answers, mean 4.125."""
    files = await file_ids(database, world)
    recorder = world.user_id(personas.AGENCY_WORKER)
    await add_survey(database, files["huang"], Round.MID_TERM, (5, 5, 4, 4), recorder)
    await add_survey(database, files["yang"], Round.MID_TERM, (3, 4, 4, 4), recorder)


async def test_satisfaction_is_scored_from_the_survey_and_the_evaluation_passes_at_the_mark(
    client_as: ClientAs, world: World, database: Database
) -> None:
    await _surveys(database, world)
    contract = await demo_contract(database, world)
    zhou = await client_as(personas.PILLAR_STAFF)
    page = await zhou.get(f"/pillar/contracts/{contract.id}/evaluations/new?round=mid_term")
    assert page.status_code == 200, page.text[-2000:]
    assert 'id="survey-figures"' in page.text and "4.13" in page.text  # 4.125 rounded half up
    satisfaction = next(
        c for c in await criteria(database, world) if c.source is CriterionSource.SATISFACTION
    )
    assert satisfaction.max_score == 20
    assert f'id="criterion-{satisfaction.id}-computed"' in page.text and "17" in page.text  # 16.5 -> 17
    assert f'name="score-{satisfaction.id}"' not in page.text  # computed, never typed
    # 18 + 18 + 7 typed + 17 computed = 60 of 100, the demo contract's pass mark: passed.
    fields = await evaluation_fields(database, world, [18, 18, 7])
    fields[f"score-{satisfaction.id}"] = "20"  # a typed satisfaction score is ignored
    response = await record(zhou, contract.id, fields)
    assert response.status_code == 303, response.text[-2000:]
    [evaluation] = await evaluations(database, contract.id)
    assert (evaluation.total_score, evaluation.max_total, evaluation.passed) == (60, 100, True)
    assert (evaluation.survey_count, evaluation.satisfaction_x100) == (2, 413)
    assert {s.criterion_id: s.score for s in evaluation.scores}[satisfaction.id] == 17
    assert evaluation.recorded_by_id == world.user_id(personas.PILLAR_STAFF)
    assert len(await audit_actions(database, "pillar.evaluation_recorded")) == 1
    shown = await zhou.get(f"/pillar/contracts/{contract.id}")
    assert f'id="evaluation-{evaluation.id}"' in shown.text


async def test_one_point_under_the_mark_or_a_failed_audit_fails_and_the_latest_counts(
    client_as: ClientAs, world: World, database: Database
) -> None:
    await _surveys(database, world)
    contract = await demo_contract(database, world)
    zhou = await client_as(personas.PILLAR_STAFF)
    under = await record(zhou, contract.id, await evaluation_fields(database, world, [18, 18, 6]))
    assert under.status_code == 303
    audit_failed = await record(
        zhou, contract.id, await evaluation_fields(database, world, [30, 30, 20], audit="failed")
    )
    assert audit_failed.status_code == 303
    found = await evaluations(database, contract.id)
    assert [(e.total_score, e.audit_passed, e.passed) for e in found] == [
        (59, True, False),
        (97, False, False),
    ]
    mid = next(s for s in contract.stages if s.round is Round.MID_TERM)
    page = await zhou.get(f"/pillar/contracts/{contract.id}")
    assert f'id="stage-{mid.id}-state"' in page.text and f'id="release-{mid.id}"' not in page.text


async def test_without_survey_answers_satisfaction_scores_zero_and_the_page_says_so(
    client_as: ClientAs, world: World, database: Database
) -> None:
    contract = await demo_contract(database, world)
    zhou = await client_as(personas.PILLAR_STAFF)
    page = await zhou.get(f"/pillar/contracts/{contract.id}/evaluations/new?round=final")
    assert page.status_code == 200 and 'id="survey-none"' in page.text
    response = await record(
        zhou, contract.id, await evaluation_fields(database, world, [30, 30, 20], "final")
    )
    assert response.status_code == 303
    [evaluation] = await evaluations(database, contract.id)
    assert (evaluation.round, evaluation.total_score, evaluation.survey_count) == (Round.FINAL, 80, 0)
    assert evaluation.satisfaction_x100 is None and evaluation.passed


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"score": "31"}, "score"),
        ({"score": "abc"}, "score"),
        ({"score": "-1"}, "score"),
        ({"score": "12.5"}, "score"),
        ({"evaluated_on": "2100-01-01"}, "evaluated_on"),
        ({"evaluated_on": "yesterday"}, "evaluated_on"),
        ({"audit": ""}, "audit"),
        ({"round": "third"}, "round"),
    ],
)
async def test_bad_evaluation_input_is_a_400_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database, change: dict[str, str], field: str
) -> None:
    contract = await demo_contract(database, world)
    zhou = await client_as(personas.PILLAR_STAFF)
    fields = await evaluation_fields(database, world, [18, 18, 7])
    first = next(c for c in await criteria(database, world) if c.source is CriterionSource.MANUAL)
    for key, value in change.items():
        fields[f"score-{first.id}" if key == "score" else key] = value
    response = await record(zhou, contract.id, fields)
    assert response.status_code == 400, response.text[-2000:]
    error_id = f"score-{first.id}-error" if field == "score" else f"{field}-error"
    assert f'id="{error_id}"' in response.text
    assert await evaluations(database, contract.id) == []


async def test_staff_adds_and_retires_criteria_and_later_evaluations_leave_a_retired_one_out(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pillar_id = world.cast.programmes["pillar"].id
    zhou = await client_as(personas.PILLAR_STAFF)
    page = await zhou.get(f"/pillar/{pillar_id}/criteria")
    assert page.status_code == 200 and 'id="criterion-add"' in page.text
    added = await post(zhou, f"/pillar/{pillar_id}/criteria", {"label": "社区资源链接", "max_score": "10"})
    assert added.status_code == 303
    for bad in (
        {"label": "", "max_score": "10"},
        {"label": "x", "max_score": "0"},
        {"label": "y", "max_score": "1.5"},
    ):
        assert (await post(zhou, f"/pillar/{pillar_id}/criteria", bad)).status_code == 400
    duplicate = await post(zhou, f"/pillar/{pillar_id}/criteria", {"label": "社区资源链接", "max_score": "5"})
    assert duplicate.status_code == 409
    retired = next(c for c in await criteria(database, world) if c.label == "项目管理与档案")
    assert (await post(zhou, f"/pillar/criteria/{retired.id}/retire")).status_code == 303
    labels = [c.label for c in await criteria(database, world)]
    assert "社区资源链接" in labels and "项目管理与档案" not in labels
    contract = await demo_contract(database, world)
    response = await record(zhou, contract.id, await evaluation_fields(database, world, [20, 20, 8]))
    assert response.status_code == 303, response.text[-2000:]
    [evaluation] = await evaluations(database, contract.id)
    assert evaluation.max_total == 90 and evaluation.total_score == 48  # 20 + 20 + 8 + 0 satisfaction
    assert retired.id not in {s.criterion_id for s in evaluation.scores}


@pytest.mark.parametrize(
    "handle",
    [
        personas.AGENCY_WORKER,
        personas.CADRE,
        personas.VOLUNTEER,
        personas.PILLAR_MOTHER,
        personas.OUTSIDER,
    ],
)
async def test_nobody_but_staff_reaches_criteria_or_evaluations(
    client_as: ClientAs, world: World, database: Database, handle: str
) -> None:
    pillar_id = world.cast.programmes["pillar"].id
    contract = await demo_contract(database, world)
    browser = await client_as(handle)
    member = handle != personas.OUTSIDER
    assert (await browser.get(f"/pillar/{pillar_id}/criteria")).status_code == (403 if member else 404)
    add = await post(browser, f"/pillar/{pillar_id}/criteria", {"label": "冒名", "max_score": "10"})
    assert add.status_code == (403 if member else 404)
    first = (await criteria(database, world))[0]
    assert (await post(browser, f"/pillar/criteria/{first.id}/retire")).status_code == 404
    assert (await browser.get(f"/pillar/contracts/{contract.id}/evaluations/new")).status_code == 404
    fields = await evaluation_fields(database, world, [30, 30, 20])
    assert (await record(browser, contract.id, fields)).status_code == 404
    assert await evaluations(database, contract.id) == []
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(Criterion.retired_at).where(Criterion.id == first.id)) is None
